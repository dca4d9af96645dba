package main

import "crypto/tls"

// insecureTLS is --insecure: the user said not to verify certificates.
func insecureTLS() *tls.Config {
	return &tls.Config{InsecureSkipVerify: true}
}
