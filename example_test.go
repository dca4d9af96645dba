package keepftp_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"sync"

	"github.com/keepftp/keepftp"
	"github.com/keepftp/keepftp/testserver"
)

// A server to run the examples against: the embedded test server.
func exampleServer() *testserver.Server {
	srv, err := testserver.Start(testserver.Options{EnableHASH: true})
	if err != nil {
		panic(err)
	}
	srv.WriteFile("/pub/readme.txt", []byte("hello from keepftp\n"))
	srv.WriteFile("/pub/data/a.csv", []byte("a,1\n"))
	srv.WriteFile("/pub/data/b.csv", []byte("b,2\n"))
	return srv
}

func ExampleClient_Get() {
	srv := exampleServer()
	defer srv.Close()
	dir, _ := os.MkdirTemp("", "example")
	defer os.RemoveAll(dir)

	c := keepftp.NewClient(keepftp.Options{})
	defer c.Close()
	dst := filepath.Join(dir, "readme.txt")
	out, err := c.Get(context.Background(), "ftp://"+srv.Addr()+"/pub/readme.txt", dst)
	if err != nil {
		fmt.Println(err)
		return
	}
	data, _ := os.ReadFile(dst)
	fmt.Printf("%s: %d bytes, checked by %s\n", out.Status, out.Size, out.Verified)
	fmt.Print(string(data))
	// Output:
	// complete: 19 bytes, checked by SHA-256
	// hello from keepftp
}

func ExampleClient_List() {
	srv := exampleServer()
	defer srv.Close()
	c := keepftp.NewClient(keepftp.Options{})
	defer c.Close()
	entries, err := c.List(context.Background(), "ftp://"+srv.Addr()+"/pub")
	if err != nil {
		fmt.Println(err)
		return
	}
	sort.Slice(entries, func(i, j int) bool { return entries[i].Name < entries[j].Name })
	for _, e := range entries {
		fmt.Println(e.Type, e.Name)
	}
	// Output:
	// dir data
	// file readme.txt
}

func ExampleClient_Mirror() {
	srv := exampleServer()
	defer srv.Close()
	dir, _ := os.MkdirTemp("", "example")
	defer os.RemoveAll(dir)

	c := keepftp.NewClient(keepftp.Options{})
	defer c.Close()
	url := "ftp://" + srv.Addr() + "/pub"
	for run := 1; run <= 2; run++ {
		results, err := c.Mirror(context.Background(), url, dir)
		if err != nil {
			fmt.Println(err)
			return
		}
		fetched, skipped := 0, 0
		for _, r := range results {
			if r.Skipped {
				skipped++
			} else if r.Err == nil {
				fetched++
			}
		}
		fmt.Printf("run %d: %d fetched, %d up to date\n", run, fetched, skipped)
	}
	// Output:
	// run 1: 3 fetched, 0 up to date
	// run 2: 0 fetched, 3 up to date
}

// A dry run of a sync: what a mirror with Delete would do, decided
// folder by folder and printed as it comes, with nothing changed.
func ExampleClient_PlanMirrorFunc() {
	srv := exampleServer()
	defer srv.Close()
	dir, _ := os.MkdirTemp("", "example")
	defer os.RemoveAll(dir)
	os.WriteFile(filepath.Join(dir, "old.txt"), []byte("gone from the server\n"), 0o644)

	c := keepftp.NewClient(keepftp.Options{})
	defer c.Close()
	url := "ftp://" + srv.Addr() + "/pub"
	p, err := c.PlanMirrorFunc(context.Background(), keepftp.ToLocal, url, dir, keepftp.MirrorOptions{Delete: true}, func(a keepftp.Action) {
		fmt.Printf("%s %s (%s)\n", a.Kind, a.Rel, a.Reason)
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(p.Deletes(), "to delete")
	// Output:
	// mkdir data (missing)
	// transfer data/a.csv (missing)
	// transfer data/b.csv (missing)
	// transfer readme.txt (missing)
	// delete old.txt (not in the source)
	// 1 to delete
}

func ExampleClient_GetAll() {
	srv := exampleServer()
	defer srv.Close()
	dir, _ := os.MkdirTemp("", "example")
	defer os.RemoveAll(dir)

	c := keepftp.NewClient(keepftp.Options{Parallel: 2})
	defer c.Close()
	jobs := []keepftp.Job{
		{URL: "ftp://" + srv.Addr() + "/pub/data/*.csv"}, // a pattern
		{URL: "ftp://" + srv.Addr() + "/pub/missing.txt"},
	}
	for _, r := range c.GetAll(context.Background(), jobs, dir) {
		if r.Err != nil {
			fmt.Println(filepath.Base(r.URL), "failed")
			continue
		}
		fmt.Println(filepath.Base(r.Local), r.Outcome.Status)
	}
	// Output:
	// a.csv complete
	// b.csv complete
	// missing.txt failed
}

func ExampleClient_PutAll() {
	srv := exampleServer()
	defer srv.Close()
	dir, _ := os.MkdirTemp("", "example")
	defer os.RemoveAll(dir)
	var ups []keepftp.Upload
	for _, name := range []string{"one.txt", "two.txt"} {
		os.WriteFile(filepath.Join(dir, name), []byte(name+"\n"), 0o644)
		ups = append(ups, keepftp.Upload{Src: filepath.Join(dir, name), URL: "ftp://" + srv.Addr() + "/incoming/" + name})
	}
	ups = append(ups, keepftp.Upload{Src: filepath.Join(dir, "missing.txt"), URL: "ftp://" + srv.Addr() + "/incoming/missing.txt"})

	c := keepftp.NewClient(keepftp.Options{Parallel: 2})
	defer c.Close()
	// The directory is made first; then two uploads at a time. Cancelling
	// the context would start no more.
	for _, r := range c.PutAll(context.Background(), ups) {
		if r.Err != nil {
			fmt.Println(filepath.Base(r.Local), "failed:", keepftp.Classify(r.Err))
			continue
		}
		fmt.Println(filepath.Base(r.Local), r.Outcome.Status, "checked by", r.Outcome.Verified)
	}
	// Output:
	// one.txt complete checked by SHA-256
	// two.txt complete checked by SHA-256
	// missing.txt failed: local
}

func ExampleClient_Put() {
	srv := exampleServer()
	defer srv.Close()
	dir, _ := os.MkdirTemp("", "example")
	defer os.RemoveAll(dir)
	src := filepath.Join(dir, "report.txt")
	os.WriteFile(src, []byte("quarterly figures\n"), 0o644)

	c := keepftp.NewClient(keepftp.Options{})
	defer c.Close()
	// Written to a temporary beside the final name, verified, then renamed:
	// a reader on the server never sees half a file.
	out, err := c.Put(context.Background(), src, "ftp://"+srv.Addr()+"/pub/report.txt")
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Printf("%s: %d bytes, checked by %s\n", out.Status, out.Size, out.Verified)
	// Output:
	// complete: 18 bytes, checked by SHA-256
}

// Options.Events receives what happens to every file: here the steps of
// one download (progress events come every Options.ProgressEvery, and
// are left out of the printout).
func ExampleOptions_events() {
	srv := exampleServer()
	defer srv.Close()
	dir, _ := os.MkdirTemp("", "example")
	defer os.RemoveAll(dir)

	var mu sync.Mutex
	var kinds []keepftp.EventKind
	c := keepftp.NewClient(keepftp.Options{Events: func(e keepftp.Event) {
		if e.Kind == keepftp.EventProgress {
			return
		}
		mu.Lock() // events come from the transfers' goroutines
		kinds = append(kinds, e.Kind)
		mu.Unlock()
	}})
	defer c.Close()
	if _, err := c.Get(context.Background(), "ftp://"+srv.Addr()+"/pub/readme.txt", filepath.Join(dir, "readme.txt")); err != nil {
		fmt.Println(err)
		return
	}
	mu.Lock()
	defer mu.Unlock()
	fmt.Println(kinds)
	// Output:
	// [start verified done]
}

// Classify says what an error means, for a message, an exit code or a
// decision to try again; errors.Is finds the details.
func ExampleClassify() {
	srv := exampleServer()
	defer srv.Close()
	dir, _ := os.MkdirTemp("", "example")
	defer os.RemoveAll(dir)

	c := keepftp.NewClient(keepftp.Options{Retry: keepftp.RetryPolicy{Retries: 1, MaxAttempts: 2}})
	defer c.Close()
	ctx := context.Background()
	_, err := c.Get(ctx, "ftp://"+srv.Addr()+"/pub/missing.txt", filepath.Join(dir, "m"))
	fmt.Println(keepftp.Classify(err), errors.Is(err, keepftp.ErrNotFound))
	_, err = c.Get(ctx, "ftp://"+srv.Addr()+"/pub/readme.txt\r\nDELE x", filepath.Join(dir, "r"))
	fmt.Println(keepftp.Classify(err), errors.Is(err, keepftp.ErrBadURL))
	_, err = c.Get(ctx, "ftp://"+srv.Addr()+"/pub/readme.txt", filepath.Join(dir, "no such folder", "r"))
	fmt.Println(keepftp.Classify(err))
	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	_, err = c.Get(cancelled, "ftp://"+srv.Addr()+"/pub/readme.txt", filepath.Join(dir, "r"))
	fmt.Println(keepftp.Classify(err))
	// Output:
	// not found true
	// bad URL true
	// local
	// intentional
}
