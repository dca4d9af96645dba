package main

import (
	"crypto/tls"
	"fmt"

	"github.com/keepftp/keepftp"
	"github.com/urfave/cli/v2"
)

// tlsFlags are the FTPS settings of every command that connects.
func tlsFlags() []cli.Flag {
	return []cli.Flag{
		&cli.BoolFlag{Name: "insecure", Usage: "do not verify TLS certificates (a --pin-sha256 still applies)"},
		&cli.StringFlag{Name: "ca-file", Usage: "trust the certificate authorities in this PEM file instead of the system's"},
		&cli.StringFlag{Name: "cert", Usage: "client certificate (PEM), for servers that require one; with --key"},
		&cli.StringFlag{Name: "key", Usage: "the client certificate's private key (PEM)"},
		&cli.StringSliceFlag{Name: "pin-sha256", Usage: "accept only a server whose public key has this base64 SHA-256 (curl's --pinnedpubkey sha256//...); repeatable"},
		&cli.StringFlag{Name: "tls-max", Usage: "highest TLS version to offer: 1.2 or 1.3 (for servers that break with TLS 1.3)"},
	}
}

// tlsOptions reads the TLS flags; the zero value when none is set (the
// defaults: system roots, certificates verified). Bad flags or unreadable
// files are usage errors.
func tlsOptions(c *cli.Context) (keepftp.TLSOptions, error) {
	o := keepftp.TLSOptions{
		Insecure:  c.Bool("insecure"),
		CAFile:    c.String("ca-file"),
		CertFile:  c.String("cert"),
		KeyFile:   c.String("key"),
		PinSHA256: c.StringSlice("pin-sha256"),
	}
	switch v := c.String("tls-max"); v {
	case "":
	case "1.2":
		o.MaxVersion = tls.VersionTLS12
	case "1.3":
		o.MaxVersion = tls.VersionTLS13
	default:
		return o, usageError{fmt.Sprintf("--tls-max %q: want 1.2 or 1.3", v)}
	}
	if o.IsZero() {
		return o, nil
	}
	if _, err := o.Config(); err != nil {
		return o, usageError{err.Error()}
	}
	return o, nil
}
