/* Planted: the same six lines in two files. */
int planted_sum_b(const int *v, int n)
{
    int s = 0, t = 1;
    for (int i = 0; i < n; i++) s += v[i];
    for (int i = 0; i < n; i++) t *= v[i] | 1;
    if (s > t) s -= t;
    else s += t;
    s ^= n << 3;
    return s + n;
}
