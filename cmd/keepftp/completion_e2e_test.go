package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// shellScript writes `keepftp completion SHELL` to a file.
func shellScript(t *testing.T, shell string) string {
	t.Helper()
	code, stdout, stderr := runKeepftp(t, nil, "completion", shell)
	if code != 0 || stdout == "" {
		t.Fatalf("completion %s: exit %d\n%s", shell, code, stderr)
	}
	f := filepath.Join(t.TempDir(), "keepftp."+shell)
	os.WriteFile(f, []byte(stdout), 0o644)
	return f
}

// runShell runs a shell command line and returns its output.
func runShell(t *testing.T, shell string, args ...string) string {
	t.Helper()
	out, err := exec.Command(shell, args...).CombinedOutput()
	if err != nil {
		t.Fatalf("%s %v: %v\n%s", shell, args, err, out)
	}
	return string(out)
}

// TestCompletionScripts: the bash, zsh and fish scripts parse in their
// shells, and bash and fish, asked to complete "keepftp ge" and
// "keepftp get --ti", offer get and --timeout (zsh's completion system
// needs an interactive shell: its script is syntax-checked, and the answer
// it asks for, in zsh's name:description form, is checked directly).
func TestCompletionScripts(t *testing.T) {
	t.Parallel()
	bin := keepftpBinary(t)
	bash := shellScript(t, "bash")
	runShell(t, "bash", "-n", bash)
	complete := func(words ...string) string {
		line := strings.Join(words, " ")
		return runShell(t, "bash", "-c", `source `+bash+`; COMP_WORDS=(`+bin+` `+line+`); COMP_CWORD=`+
			string(rune('0'+len(words)))+`; _keepftp_complete; printf '%s\n' "${COMPREPLY[@]}"`)
	}
	if got := complete("ge"); !strings.Contains(got, "get") {
		t.Errorf("bash: keepftp ge<TAB> offers %q, want get", got)
	}
	if got := complete("get", "--ti"); !strings.Contains(got, "--timeout") {
		t.Errorf("bash: keepftp get --ti<TAB> offers %q, want --timeout", got)
	}

	zsh := shellScript(t, "zsh")
	runShell(t, "zsh", "-n", zsh)
	cmd := exec.Command(bin, "--generate-bash-completion")
	cmd.Env = append(os.Environ(), "0=zsh")
	out, err := cmd.Output()
	if err != nil || !strings.Contains(string(out), "get:download files") {
		t.Errorf("zsh answer: %v %q, want name:description pairs", err, out)
	}

	fish := shellScript(t, "fish")
	runShell(t, "fish", "-n", fish)
	dir := t.TempDir()
	os.Symlink(bin, filepath.Join(dir, "keepftp"))
	got := runShell(t, "fish", "-c", "set PATH "+dir+" $PATH; source "+fish+"; complete -C 'keepftp ge'; complete -C 'keepftp get --ti'")
	if !strings.Contains(got, "get\t") || !strings.Contains(got, "--timeout") {
		t.Errorf("fish offers:\n%s\nwant get and --timeout", got)
	}
}

// TestManPage: keepftp man is a manual page that groff renders, naming
// every command and the flags.
func TestManPage(t *testing.T) {
	t.Parallel()
	code, page, stderr := runKeepftp(t, nil, "man")
	if code != 0 || !strings.HasPrefix(page, ".nh\n.TH keepftp") && !strings.Contains(page, ".TH keepftp") {
		t.Fatalf("man: exit %d, %q\n%s", code, page[:min(len(page), 200)], stderr)
	}
	cmd := exec.Command("groff", "-man", "-Tutf8", "-ww", "-z")
	cmd.Stdin = strings.NewReader(page)
	if out, err := cmd.CombinedOutput(); err != nil || len(out) > 0 {
		t.Errorf("groff warns: %v\n%s", err, out)
	}
	cmd = exec.Command("groff", "-man", "-Tutf8")
	cmd.Stdin = strings.NewReader(page)
	rendered, err := cmd.Output()
	if err != nil {
		t.Fatal(err)
	}
	text := stripOverstrike(string(rendered))
	for _, want := range []string{"get", "put", "ls", "mirror", "doctor", "completion", "--timeout", "--netrc-file", "--json-file", "--delete", "--max-delete", "--dry-run"} {
		if !strings.Contains(text, want) {
			t.Errorf("the rendered page does not mention %s", want)
		}
	}
}

// stripOverstrike removes groff's bold and underline (x\bx, _\bx).
func stripOverstrike(s string) string {
	var b []rune
	for _, r := range s {
		if r == '\b' && len(b) > 0 {
			b = b[:len(b)-1]
			continue
		}
		b = append(b, r)
	}
	return strings.ReplaceAll(string(b), "\x1b[", "")
}
