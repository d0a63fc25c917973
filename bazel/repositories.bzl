"""deft_repositories(): what a workspace needs to build deft, offline.

A workspace that depends on deft writes, in its WORKSPACE:

    local_repository(name = "deft", path = "../deft")

    load("@deft//bazel:repositories.bzl", "deft_repositories")

    deft_repositories()

and deft's own WORKSPACE calls the same macro, so the two cannot drift apart.

It declares:
  - rules_cc, rules_java, remote_coverage_tools: Bazel 4.2.3 (Debian's bazel-bootstrap) declares
    these as downloads in its built-in WORKSPACE suffix, so without them the first build of
    anything fails with "Unknown host" on a machine without internet. These point at the small
    stand-ins in deft's third_party/offline/ instead. A name the workspace has declared already
    is left alone.
  - deft_system: Debian's libraries (Abseil, c-ares, zlib, GoogleTest, ...) as cc_library
    targets that carry their link flags (third_party/system/BUILD.system). The name is
    deft-prefixed so it cannot collide with a repository of the workspace's own.
"""

def _vendored_repository_impl(repository_ctx):
    # The folder inside deft's checkout, wherever that checkout is: resolved through a label of
    # this repository, so the workspace never spells deft's path twice.
    source = repository_ctx.path(repository_ctx.attr.marker).dirname
    for entry in source.readdir():
        repository_ctx.symlink(entry, entry.basename)

_vendored_repository = repository_rule(
    implementation = _vendored_repository_impl,
    attrs = {
        "marker": attr.label(
            mandatory = True,
            allow_single_file = True,
            doc = "The WORKSPACE file of the vendored folder; its directory is linked in whole.",
        ),
    },
    local = True,
    doc = "A repository made of one folder of deft's checkout (third_party/offline/*).",
)

def deft_repositories():
    """Declares the repositories deft's BUILD files use. Call it once, from WORKSPACE."""
    for name in ["rules_cc", "rules_java", "remote_coverage_tools"]:
        if name not in native.existing_rules():
            _vendored_repository(
                name = name,
                marker = Label("//third_party/offline/%s:WORKSPACE" % name),
            )

    if "deft_system" not in native.existing_rules():
        native.new_local_repository(
            name = "deft_system",
            build_file = str(Label("//third_party/system:BUILD.system")),
            path = "/usr",
        )
