# Public names renamed before 1.0 (no aliases), applied by
# tools/ci/apply-renames.sh to every tracked text file. One rename a line,
# whole words only. A new name must never be an old one (the script refuses
# such a list), so applying it twice changes nothing.
# The scheme: rc_heap_* for what belongs to a heap itself, rc_gc_* for
# Python's gc-module surface, rc_<result>_* for the leak tools' results.
#
# Lines "# gone: NAME" name calls removed without a one-to-one successor:
# --check reports them like old names; nothing replaces them.
# gone: rc_leak_free
#
# heap settings, errors, statistics, leak report
s/\brc_config_init\b/rc_heap_config_init/g
s/\brc_config\b/rc_heap_config/g
s/\brc_error\b/rc_heap_error/g
s/\brc_error_message\b/rc_heap_error_message/g
s/\brc_clear_error\b/rc_heap_clear_error/g
s/\brc_heap_stats_get\b/rc_heap_get_stats/g
s/\brc_set_leak_report\b/rc_heap_set_leak_report/g
s/\brc_leak_report_print\b/rc_heap_leak_report_print/g
# the gc module
s/\brc_collect\b/rc_gc_collect/g
s/\brc_enable\b/rc_gc_enable/g
s/\brc_disable\b/rc_gc_disable/g
s/\brc_isenabled\b/rc_gc_is_enabled/g
s/\brc_set_threshold\b/rc_gc_set_threshold/g
s/\brc_get_threshold\b/rc_gc_get_threshold/g
s/\brc_get_count\b/rc_gc_get_count/g
s/\brc_is_finalized\b/rc_gc_is_finalized/g
s/\brc_gc_callback\b/rc_gc_callback_fn/g
s/\bRC_DEBUG_STATS\b/RC_GC_DEBUG_STATS/g
s/\bRC_DEBUG_COLLECTABLE\b/RC_GC_DEBUG_COLLECTABLE/g
s/\bRC_DEBUG_UNCOLLECTABLE\b/RC_GC_DEBUG_UNCOLLECTABLE/g
s/\bRC_DEBUG_SAVEALL\b/RC_GC_DEBUG_SAVEALL/g
s/\bRC_DEBUG_LEAK\b/RC_GC_DEBUG_LEAK/g
s/\bRC_DEBUG_\*/RC_GC_DEBUG_*/g
# values, built-ins, weak references
s/\brc_visit_val\b/rc_val_visit/g
s/\brc_tuple_set_new\b/rc_tuple_set/g
s/\brc_weakref_cb\b/rc_weakref_callback_fn/g
# leak tools
s/\brc_heap_snapshot_write\b/rc_heapsnapshot_write/g
s/\brc_heap_snapshot_save\b/rc_heapsnapshot_save/g
s/\brc_heap_snapshot_\*/rc_heapsnapshot_*/g
s/\brc_retained_size\b/rc_domtree_retained_size/g
s/\brc_dominator\b/rc_domtree_dominator/g
s/\brc_new_since\b/rc_mark_new_objects/g
