#!/usr/bin/env bats
# Where make install puts things: the completions where the shells look.

setup() {
	load helper
}

# Skips where the source tree cannot be configured again elsewhere.
need_vpath() {
	[[ -x $DQ_SRCDIR/configure ]] || skip "no configure in the source tree"
	[[ ! -f $DQ_SRCDIR/config.status ]] ||
		skip "the source tree is configured in place"
}

# configure_in DIR ARGS...: configure the source tree in DIR, quietly.
configure_in() {
	local dir=$1
	shift
	mkdir -p "$dir"
	(cd "$dir" && "$DQ_SRCDIR/configure" "$@" >/dev/null)
}

@test "--prefix=/usr: completions in bash-completion.pc's directory and Debian's zsh fpath" {
	need_vpath
	[[ -f /etc/debian_version ]] || skip "not Debian"
	local pc=$BATS_TEST_TMPDIR/pc dest=$BATS_TEST_TMPDIR/dest
	mkdir -p "$pc"
	# bash-completion's own file, with a directory of its choosing.
	cat >"$pc/bash-completion.pc" <<-'PC'
	prefix=/usr
	datadir=${prefix}/share
	completionsdir=${datadir}/bash-completion/from-pc
	Name: bash-completion
	Description: programmable completion for the bash shell
	Version: 2.11
	PC
	PKG_CONFIG_PATH=$pc configure_in "$BATS_TEST_TMPDIR/b" --prefix=/usr
	make -C "$BATS_TEST_TMPDIR/b" install-data DESTDIR="$dest" >/dev/null
	[[ -f $dest/usr/share/zsh/vendor-completions/_dq ]]
	[[ -f $dest/usr/share/bash-completion/from-pc/dq ]]
	run readlink "$dest/usr/share/bash-completion/from-pc/dq-pick"
	assert_output dq
}

@test "the default prefix: zsh's under /usr/local; no skips bash's" {
	need_vpath
	local dest=$BATS_TEST_TMPDIR/dest
	PKG_CONFIG_PATH=$BATS_TEST_TMPDIR/none configure_in "$BATS_TEST_TMPDIR/b" \
	    --with-bash-completion-dir=no
	make -C "$BATS_TEST_TMPDIR/b" install-data DESTDIR="$dest" >/dev/null
	[[ -f $dest/usr/local/share/zsh/site-functions/_dq ]]
	[[ ! -e $dest/usr/local/share/bash-completion ]]
}
