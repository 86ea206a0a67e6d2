#!/usr/bin/env python3
"""Writes what CLIP's pre-tokenizing regex does to every assigned code point, for
tools/text/compare-pretokenizer.ts to check src/text/pretokenize.ts against.

The reference used the `regex` module 2022.10.31 (reporting version 2.5.123) on Python 3.11; the
same build is Debian bookworm's python3-regex. Without installing it system-wide:

    apt-get download python3-regex && dpkg -x python3-regex_*.deb /tmp/python3-regex
    PYTHONPATH=/tmp/python3-regex/usr/lib/python3/dist-packages \\
      /usr/bin/python3.11 tools/text/pretokenizer_reference.py > /tmp/pretokenizer-reference.jsonl
    npx tsx tools/text/compare-pretokenizer.ts /tmp/pretokenizer-reference.jsonl

Each output line is [code point, [findall(s) for s in contexts(c)]], for the code points assigned
in the running Python's Unicode database (14.0 for 3.11), private use and surrogates excluded.
"""
import json
import sys
import unicodedata

import regex

PATTERN = regex.compile(
    r"""<\|startoftext\|>|<\|endoftext\|>|'s|'t|'re|'ve|'m|'ll|'d|[\p{L}]+|[\p{N}]|[^\s\p{L}\p{N}]+""",
    regex.IGNORECASE,
)


def contexts(c):
    # Keep in step with CONTEXTS in compare-pretokenizer.ts.
    return [c, "a" + c + "a", "'" + c, "1" + c + "1", c + c, " " + c + " ", "!" + c + "!", "'" + c + "d"]


def main():
    print(f"regex {regex.__version__}, unicodedata {unicodedata.unidata_version}", file=sys.stderr)
    out = sys.stdout
    for cp in range(0x110000):
        if 0xD800 <= cp <= 0xDFFF:
            continue
        c = chr(cp)
        if unicodedata.category(c) in ("Cn", "Co"):
            continue
        out.write(json.dumps([cp, [PATTERN.findall(s) for s in contexts(c)]], ensure_ascii=True) + "\n")


if __name__ == "__main__":
    main()
