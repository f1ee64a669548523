#!/usr/bin/env python3
"""Lists the public items of the crate whose doc comment has no `# Examples` section.

A public item is a `pub` (not `pub(crate)`) fn, struct, enum, trait, const,
static or type in src/; fields and variants are covered by their type's
example, and the flags `bitflags!` generates by CloneFlags's. Trait impl
methods are not counted (their docs are the trait's). A `pub` item in a
private module counts too: one that is not meant to be public is
`pub(crate)`. Whether an example runs or is `no_run` is the reviewer's call.
Prints one `path:line: item` per item without an example, then a summary;
exits 1 if any is missing (for .ci/run).
"""
import pathlib
import re
import sys

ITEM = re.compile(
    r"^\s*pub\s+(?:const\s+)?(?:unsafe\s+)?(?:extern\s+\"C\"\s+)?"
    r"(fn|struct|enum|trait|const|static|type)\s+([A-Za-z_][A-Za-z0-9_]*)"
)
TRAIT_IMPL = re.compile(r"^\s*(?:unsafe\s+)?impl\b.*\bfor\b")


def doc_block_above(lines, index):
    """The `///` lines directly above `lines[index]`, attributes skipped."""
    docs = []
    i = index - 1
    while i >= 0:
        text = lines[i].strip()
        if text.startswith("///"):
            docs.append(text)
        elif not text.startswith("#["):
            break
        i -= 1
    return docs


def in_trait_impl(lines, index):
    """Whether the item at `index` sits inside a trait impl (`impl X for Y`)."""
    depth = 0
    for i in range(index - 1, -1, -1):
        text = lines[i]
        if text.lstrip().startswith("//"):
            continue  # braces in comments and doc examples do not count
        depth += text.count("}") - text.count("{")
        if depth < 0:
            return bool(TRAIT_IMPL.match(text))
    return False


def main():
    root = pathlib.Path(__file__).resolve().parent.parent
    total = missing = 0
    for path in sorted((root / "src").rglob("*.rs")):
        lines = path.read_text().splitlines()
        for index, line in enumerate(lines):
            match = ITEM.match(line)
            if not match or in_trait_impl(lines, index):
                continue
            total += 1
            if not any(doc.lstrip("/ ").startswith("# Examples") for doc in doc_block_above(lines, index)):
                missing += 1
                print(f"{path.relative_to(root)}:{index + 1}: {match.group(1)} {match.group(2)}")
    print(f"{missing} of {total} public items have no `# Examples` section")
    return 1 if missing else 0


if __name__ == "__main__":
    sys.exit(main())
