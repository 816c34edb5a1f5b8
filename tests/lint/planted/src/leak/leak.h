/* A header of the highest layer, for the planted upward include. */
int planted_leak(void);
