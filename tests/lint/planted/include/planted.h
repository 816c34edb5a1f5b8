/* Planted for ownercheck.py (tests/lint/check_fails.sh): two public calls
 * that take a heap, one that checks the calling thread and one that does
 * not. */
RC_API int rc_planted_checked(rc_heap *heap);
RC_API int rc_planted_unchecked(rc_heap *heap);
