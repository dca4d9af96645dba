package main

import (
	"runtime"
	"runtime/debug"
	"testing"
)

// TestFormatVersion: the version line names the module version, the whole
// revision, its time and whether the tree was modified, and the Go
// version, from the build information; without a revision it says so
// instead of guessing.
func TestFormatVersion(t *testing.T) {
	t.Parallel()
	platform := runtime.GOOS + "/" + runtime.GOARCH
	stamped := func(modified string) *debug.BuildInfo {
		return &debug.BuildInfo{GoVersion: "go1.26.8", Main: debug.Module{Path: "github.com/keepftp/keepftp", Version: "v0.0.0-20261203092515-973ac17d75c2"},
			Settings: []debug.BuildSetting{
				{Key: "GOOS", Value: "linux"},
				{Key: "vcs", Value: "git"},
				{Key: "vcs.revision", Value: "973ac17d75c29db746298f8700aa643cc1044913"},
				{Key: "vcs.time", Value: "2026-12-03T09:25:15Z"},
				{Key: "vcs.modified", Value: modified},
			}}
	}
	for _, c := range []struct {
		name string
		info *debug.BuildInfo
		want string
	}{
		{"clean", stamped("false"), "keepftp v0.0.0-20261203092515-973ac17d75c2 (revision 973ac17d75c29db746298f8700aa643cc1044913, 2026-12-03T09:25:15Z) go1.26.8 " + platform},
		{"modified", stamped("true"), "keepftp v0.0.0-20261203092515-973ac17d75c2 (revision 973ac17d75c29db746298f8700aa643cc1044913, 2026-12-03T09:25:15Z, modified) go1.26.8 " + platform},
		{"release", &debug.BuildInfo{GoVersion: "go1.26.8", Main: debug.Module{Version: "v1.2.0"}}, "keepftp v1.2.0 (revision unknown) go1.26.8 " + platform},
		{"no VCS", &debug.BuildInfo{GoVersion: "go1.26.8", Main: debug.Module{Version: "(devel)"}}, "keepftp (devel) (revision unknown) go1.26.8 " + platform},
		{"no build info", nil, "keepftp (unknown version) (revision unknown) " + runtime.Version() + " " + platform},
	} {
		if got := formatVersion(c.info); got != c.want {
			t.Errorf("%s:\n got %q\nwant %q", c.name, got, c.want)
		}
	}
}
