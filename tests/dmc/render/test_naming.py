"""Opaque file names: keyed, one per condition, and no fixed order of methods.

A listener sees the audio URLs. A name that anyone can recompute from the method
(an unkeyed hash) or that repeats within a passage would unblind the test or overwrite
a condition; neither shows up in a render that otherwise works.
"""

from __future__ import annotations

import hashlib

from dmc.render.naming import OPAQUE_NAME, new_name_key, opaque_name

METHODS = ("target", "console", "demucs", "random", "mono", "anchor_7k", "anchor_3k5")
PASSAGES = [f"song{i}@{7.5 * i:07.2f}s" for i in range(40)]


def test_names_are_keyed_unique_and_say_nothing_about_the_method():
    key, other = new_name_key(), new_name_key()
    names = {(p, m): opaque_name(key, "drums", p, m) for p in PASSAGES for m in METHODS}
    assert len(set(names.values())) == len(names)  # one file per condition
    for (passage, method), name in names.items():
        assert OPAQUE_NAME.match(name) and method not in name
        assert opaque_name(key, "drums", passage, method) == name  # stable across re-renders
        assert opaque_name(other, "drums", passage, method) != name  # the key decides
        digest = name.removeprefix("audio/").removesuffix(".mp3")
        for text in (f"drums/{passage}/{method}", method):  # nobody recomputes it without the key
            for algorithm in (hashlib.sha256, hashlib.sha1, hashlib.md5):
                assert digest not in algorithm(text.encode()).hexdigest()
    assert opaque_name(key, "full", PASSAGES[0], "mono") != names[(PASSAGES[0], "mono")]


def test_sorting_the_names_does_not_sort_the_methods():
    key = new_name_key()
    orders = {
        tuple(sorted(METHODS, key=lambda m, p=p: opaque_name(key, "drums", p, m))) for p in PASSAGES
    }
    assert len(orders) > len(PASSAGES) // 2  # practically a new order on every passage
