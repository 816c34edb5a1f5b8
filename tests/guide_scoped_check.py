#!/usr/bin/env python3
"""guide_scoped_check.py GUIDE INCLUDE_DIR LIBRARY CC [CXX]

The C and C++ snippets of docs/guide.md's "References that let go by
themselves" compile (warnings are errors) and run: each defines make_nodes,
which this check calls, then checks the heap is left empty. Without CXX the
C++ snippet is not checked (test_cpp reports the missing compiler)."""
import os
import re
import subprocess
import sys
import tempfile

NODE = """typedef struct node { struct node *left, *right; double weight; } node;
"""
PRE = {
    "c": """#include <recycle.h>
#include <recycle/builtins.h>
#include <stddef.h>
""" + NODE + """static const rc_type node_type = {
    .name = "node", .size = sizeof(node), .slots_offset = offsetof(node, left), .nslots = 2};
""",
    "cpp": """#include <recycle.h>
#include <cstddef>
""" + NODE + """static rc_type node_type_() { rc_type t = rc_type(); t.name = "node"; t.size = sizeof(node); t.nslots = 2; return t; }
static const rc_type node_type = node_type_();
""",
}
MAIN = {
    "c": """
int main(void)
{
    rc_heap *h = rc_heap_new(NULL);
    rc_list *l = make_nodes(h, 5);
    int ok = l && rc_list_len(l) == 5;
    rc_xdecref(l);
    rc_heap_stats st;
    rc_heap_get_stats(h, &st);
    rc_heap_free(h);
    return ok && st.objects == 0 ? 0 : 1;
}
""",
    "cpp": """
int main()
{
    rc_heap *h = rc_heap_new(NULL);
    bool ok;
    {
        std::vector<recycle::ref<node>> v = make_nodes(h, 5);
        ok = v.size() == 5 && v[4]->weight == 4.0;
    }
    rc_heap_stats st;
    rc_heap_get_stats(h, &st);
    rc_heap_free(h);
    return ok && st.objects == 0 ? 0 : 1;
}
""",
}


def main():
    guide, inc, lib, cc = sys.argv[1:5]
    cxx = sys.argv[5] if len(sys.argv) > 5 and sys.argv[5] else None
    text = open(guide, encoding="utf-8").read()
    start = text.find("### References that let go by themselves")
    if start < 0:
        print("the guide has no section 'References that let go by themselves'")
        return 1
    end = text.find("\n## ", start)
    blocks = re.findall(r"```(c|cpp)\n(.*?)```", text[start:end], re.S)
    langs = [lang for lang, _ in blocks]
    if langs.count("c") != 1 or langs.count("cpp") != 1:
        print(f"expected one c and one cpp snippet, found {langs}")
        return 1
    failed = 0
    with tempfile.TemporaryDirectory() as tmp:
        for lang, code in blocks:
            if lang == "cpp" and not cxx:
                print("C++ snippet not checked: no C++ compiler")
                continue
            src = os.path.join(tmp, "snippet." + lang)
            exe = os.path.join(tmp, "snippet_" + lang)
            with open(src, "w", encoding="utf-8") as f:
                f.write(PRE[lang] + code + MAIN[lang])
            std = "-std=gnu11" if lang == "c" else "-std=c++11"
            cmd = [cc if lang == "c" else cxx, std, "-Wall", "-Wextra", "-Werror",
                   "-I", inc, src, lib, "-o", exe]
            r = subprocess.run(cmd, capture_output=True, text=True)
            if r.returncode != 0:
                print(f"the {lang} snippet does not compile:\n{r.stderr}")
                failed = 1
                continue
            if subprocess.run([exe]).returncode != 0:
                print(f"the {lang} snippet ran but left objects or built the wrong list")
                failed = 1
                continue
            print(f"ok: the {lang} snippet compiles and leaves the heap empty")
    return failed


if __name__ == "__main__":
    sys.exit(main())
