"""The cc rules deft's own libraries are declared with.

A workspace that depends on deft builds deft's sources with its own flags: deft's .bazelrc does
not apply there. So each deft library carries what it needs to build and link anywhere:

  - C++20 (Bazel's default toolchain compiles C++ as C++0x);
  - linkstatic: only the static archive is built. In Bazel's default dynamic mode a cc_test
    would otherwise link deft as a shared object, and --as-needed drops the system libraries
    (Abseil, c-ares) that only that shared object uses, so the test fails at start-up with an
    undefined absl:: symbol.
"""

DEFT_COPTS = ["-std=c++20"]

def deft_cc_library(name, copts = [], **kwargs):
    native.cc_library(
        name = name,
        copts = DEFT_COPTS + copts,
        linkstatic = True,
        **kwargs
    )
