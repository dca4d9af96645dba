package main

import (
	"fmt"
	"os"

	"github.com/keepftp/keepftp/testserver"
	"github.com/urfave/cli/v2"
)

func serveCommand() *cli.Command {
	return &cli.Command{
		Name:  "serve",
		Usage: "serve a directory with the embedded test server (anonymous login)",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "root", Value: ".", Usage: "directory to serve"},
			&cli.StringFlag{Name: "listen", Value: "127.0.0.1:2121", Usage: "control address"},
		},
		Action: func(c *cli.Context) error {
			if st, err := os.Stat(c.String("root")); err != nil || !st.IsDir() {
				return usageError{fmt.Sprintf("--root %s is not a directory", c.String("root"))}
			}
			srv, err := testserver.Start(testserver.Options{Root: c.String("root"), Listen: c.String("listen")})
			if err != nil {
				return err
			}
			defer srv.Close()
			fmt.Fprintf(c.App.Writer, "serving %s on ftp://%s/ (Ctrl-C stops)\n", c.String("root"), srv.Addr())
			<-c.Context.Done()
			return nil
		},
	}
}
