/* Planted for ownercheck.py: rc_planted_unchecked checks no owner. */
int rc_planted_checked(rc_heap *heap)
{
    RC__HEAP_CHECK(heap, "rc_planted_checked");
    return 0;
}

int rc_planted_unchecked(rc_heap *heap)
{
    return heap != 0;
}
