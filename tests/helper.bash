# helper.bash: loaded by every bats file (load helper) in setup().
# make check puts the built programs first in PATH; run by hand, point
# DQ_BUILDDIR at a build directory.
bats_require_minimum_version 1.5.0
bats_load_library bats-support
bats_load_library bats-assert

FIXTURES="$BATS_TEST_DIRNAME/fixtures"
EXAMPLES="$BATS_TEST_DIRNAME/../examples"
if [ -n "${DQ_BUILDDIR:-}" ]; then
	PATH="$DQ_BUILDDIR/src:$PATH"
fi
export LC_ALL=C TZ=UTC
unset DQ_POLICY DQ_NOW DQ_CW_CREDENTIALS
# The default policy and credentials are searched for under here, so
# the tester's own ~/.config/dq never reaches a test.
export XDG_CONFIG_HOME="${BATS_TEST_TMPDIR:-${BATS_FILE_TMPDIR:-/nonexistent}}/config"

# The tickets of a stream, one compact line each.
tickets() {
	jq -c 'select(.kind == "ticket")'
}

# One field of ticket ID in a stream on stdin, as jq prints it.
field() {
	jq -c --arg id "$1" "select(.kind == \"ticket\" and .id == \$id) | $2"
}
export -f tickets field

# Skips the test where no pseudo-terminal can be had (script(1) missing, or
# a chroot or container without /dev/pts).
need_pty() {
	command -v script >/dev/null || skip "script(1) is not installed"
	script -qec true /dev/null </dev/null >/dev/null 2>&1 ||
		skip "no pseudo-terminal here: script(1) cannot open one"
}
