"""Offline stand-in for rules_cc: Bazel 4.2.3's built-in WORKSPACE suffix declares rules_cc as
an http_archive, which cannot be fetched here. Its macros forward to the native rules, which is
all Bazel 4 itself needs. See third_party/offline/README.md."""

def cc_binary(**attrs):
    native.cc_binary(**attrs)

def cc_library(**attrs):
    native.cc_library(**attrs)

def cc_test(**attrs):
    native.cc_test(**attrs)

def cc_import(**attrs):
    native.cc_import(**attrs)

def cc_toolchain(**attrs):
    native.cc_toolchain(**attrs)

def cc_toolchain_suite(**attrs):
    native.cc_toolchain_suite(**attrs)

def cc_proto_library(**attrs):
    native.cc_proto_library(**attrs)

def objc_library(**attrs):
    native.objc_library(**attrs)
