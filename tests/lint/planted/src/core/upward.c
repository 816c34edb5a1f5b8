/* Planted: core (rank 1) includes a leak-tool header (rank 7). */
#include "leak/leak.h"
int planted_core(void) { return planted_leak(); }
