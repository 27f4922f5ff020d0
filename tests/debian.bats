#!/usr/bin/env bats
# The Debian package: debian/ builds with dpkg-buildpackage into a
# lintian-clean .deb with everything where Debian puts it. Built once,
# from a copy of the source tree, for all the tests below.

# bats 1.8 cannot skip from setup_file: it leaves the reason for setup.
setup() {
	load helper
	local why=$BATS_FILE_TMPDIR/skip
	[[ ! -s $why ]] || skip "$(cat "$why")"
}

# Why the package cannot be built here, if it cannot.
unbuildable() {
	local tool
	for tool in dpkg-buildpackage dh lintian; do
		command -v "$tool" >/dev/null || {
			echo "$tool not installed (apt-get install debhelper lintian dpkg-dev fakeroot)"
			return
		}
	done
	[[ -d $DQ_SRCDIR/debian ]] || { echo "no debian/ in the source tree"; return; }
	git -C "$DQ_SRCDIR" rev-parse --git-dir >/dev/null 2>&1 ||
		{ echo "the source tree is not a git checkout"; return; }
	(cd "$DQ_SRCDIR" && dpkg-checkbuilddeps >/dev/null 2>&1) ||
		echo "build dependencies missing (dpkg-checkbuilddeps in the source tree)"
}

setup_file() {
	unbuildable >"$BATS_FILE_TMPDIR/skip"
	[[ ! -s $BATS_FILE_TMPDIR/skip ]] || return 0
	# The tracked and new files, as they are now: not the build
	# directories or anything else .gitignore names.
	local top=$BATS_FILE_TMPDIR/pkg
	mkdir -p "$top/dq"
	(cd "$DQ_SRCDIR" && git ls-files -z -co --exclude-standard |
		tar -cf - --null --no-recursion -T -) | tar -xf - -C "$top/dq"
	(cd "$top/dq" && dpkg-buildpackage -us -uc -b) >"$top/build.log" 2>&1 ||
		echo failed >"$top/build.status"
}

deb() {
	echo "$BATS_FILE_TMPDIR"/pkg/dq_*_*.deb
}

@test "dpkg-buildpackage -us -uc -b builds dq_VERSION_ARCH.deb" {
	local top=$BATS_FILE_TMPDIR/pkg
	[[ ! -e $top/build.status ]] || { cat "$top/build.log"; false; }
	[[ -f $(deb) ]]
	run dpkg-deb -f "$(deb)" Package Version
	assert_output "Package: dq
Version: $(cd "$DQ_SRCDIR" && dpkg-parsechangelog -S Version)"
}

@test "the package puts programs, man pages, completions and examples where Debian does" {
	run dpkg-deb -c "$(deb)"
	assert_success
	local p
	for p in dq-apply dq-eligible dq-explain dq-fetch dq-pick dq-schedule dq-watch; do
		assert_line --regexp "^-rwxr-xr-x .* \./usr/bin/$p$"
		assert_line --partial "./usr/share/man/man1/$p.1.gz"
		assert_line --regexp "^l.* \./usr/share/bash-completion/completions/$p -> dq$"
	done
	assert_line --partial "./usr/share/man/man7/dq.7.gz"
	assert_line --partial "./usr/share/man/man5/dq-rules.5.gz"
	assert_line --regexp " \./usr/share/bash-completion/completions/dq$"
	assert_line --regexp " \./usr/share/zsh/vendor-completions/_dq$"
	assert_line --regexp " \./usr/share/doc/dq/examples/policy$"
	assert_line --regexp " \./usr/share/doc/dq/examples/dq-dispatch.service$"
	assert_line --regexp " \./usr/share/doc/dq/copyright$"
	refute_line --partial "./usr/local"
}

@test "lintian finds no error or warning" {
	run lintian --fail-on error,warning "$BATS_FILE_TMPDIR"/pkg/dq_*_*.changes
	assert_success
	refute_output --regexp "^[EW]: "
}

@test "unpacked with dpkg -x, dq-pick --version runs from the package" {
	local root=$BATS_TEST_TMPDIR/root
	dpkg -x "$(deb)" "$root"
	run "$root/usr/bin/dq-pick" --version
	assert_success
	assert_output "dq-pick (dq) $(dpkg-deb -f "$(deb)" Version)"
}
