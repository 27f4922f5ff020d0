#!/usr/bin/env python3
"""complete.py SHELL COMPLETIONS LINE: type LINE and a TAB into an
interactive bash or zsh on a pseudo-terminal, with the dq completion from
COMPLETIONS (the bash file, or the directory of the zsh function) loaded,
and print the command line as the shell then holds it.

The shell's whole terminal output goes to stderr, so that a test can look
for error messages. Exits 1 if the shell does not show its prompt, or does
not hand the line back, within 60 seconds."""

import os
import pty
import select
import sys
import tempfile
import time

PROMPT = "dq-ready> "
TIMEOUT = 60


def rc_files(shell, completions, tmp, out):
    """The start-up file of SHELL, and the environment to find it."""
    env = dict(os.environ, TERM="xterm", HOME=tmp, HISTFILE="/dev/null")
    if shell == "bash":
        rc = os.path.join(tmp, "bashrc")
        with open(rc, "w") as f:
            f.write(f"PS1='{PROMPT}'\n"
                    f"source '{completions}'\n"
                    # ^T writes the line being edited to OUT.
                    f"bind -x '\"\\C-t\": printf \"%s\\n\" "
                    f"\"$READLINE_LINE\" >\"{out}\"'\n")
        return ["bash", "--noprofile", "--rcfile", rc, "-i"], env
    env["ZDOTDIR"] = tmp
    with open(os.path.join(tmp, ".zshrc"), "w") as f:
        f.write(f"PS1='{PROMPT}'\n"
                f"fpath=('{completions}' $fpath)\n"
                f"autoload -U compinit && compinit -u -d '{tmp}/zcompdump'\n"
                f"show-line() {{ print -r -- \"$BUFFER\" >|'{out}' }}\n"
                "zle -N show-line\n"
                "bindkey '^T' show-line\n")
    return ["zsh", "-i"], env


def main():
    if len(sys.argv) != 4 or sys.argv[1] not in ("bash", "zsh"):
        sys.exit("usage: complete.py bash|zsh COMPLETIONS LINE")
    shell, completions, line = sys.argv[1:]
    tmp = tempfile.mkdtemp()
    out = os.path.join(tmp, "line")
    argv, env = rc_files(shell, os.path.abspath(completions), tmp, out)

    pid, fd = pty.fork()
    if pid == 0:
        os.execvpe(argv[0], argv, env)
    seen = b""
    deadline = time.monotonic() + TIMEOUT
    typed = False
    status = 1
    while time.monotonic() < deadline:
        if not typed and PROMPT.encode() in seen:
            os.write(fd, line.encode() + b"\t\x14")
            typed = True
        if typed and os.path.exists(out) and os.path.getsize(out):
            with open(out) as f:
                sys.stdout.write(f.read())
            status = 0
            break
        ready, _, _ = select.select([fd], [], [], 0.1)
        if ready:
            try:
                seen += os.read(fd, 4096)
            except OSError:
                break
    else:
        print(f"complete.py: {shell} did not "
              f"{'complete' if typed else 'show its prompt'} in time",
              file=sys.stderr)
    os.kill(pid, 9)
    os.waitpid(pid, 0)
    sys.stderr.write(seen.decode(errors="replace"))
    sys.exit(status)


main()
