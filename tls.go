package keepftp

import "crypto/tls"

// TLSOptions are the certificate settings of FTPS connections (ftps://
// and ftpes:// URLs), the command line's --ca-file, --cert/--key,
// --pin-sha256, --insecure and --tls-max. The zero value trusts the
// system's certificate authorities and verifies every certificate. A
// server certificate that fails them is refused with a *CertError that
// names the cause and the certificate's SHA-256 fingerprint.
type TLSOptions struct {
	// CAFile is a PEM file of the certificate authorities to trust instead
	// of the system's (which SSL_CERT_FILE and SSL_CERT_DIR also select).
	CAFile string
	// CertFile and KeyFile are a client certificate and its key (PEM), for
	// servers that require one.
	CertFile, KeyFile string
	// PinSHA256 are base64 SHA-256 hashes of the server's public key
	// (SubjectPublicKeyInfo), like curl's --pinnedpubkey sha256//...: the
	// server's certificate must match one of them, with Insecure too.
	PinSHA256 []string
	// Insecure skips certificate verification (pins still apply).
	Insecure bool
	// MaxVersion caps the TLS version (tls.VersionTLS12 for servers that
	// break with TLS 1.3); 0 lets Go choose.
	MaxVersion uint16
}

// Config builds the tls.Config the options stand for. Files that cannot be
// read or parsed, and malformed pins, are errors that name them.
func (o TLSOptions) Config() (*tls.Config, error) { return o.lower().Config() }

// IsZero reports whether the options are the defaults.
func (o TLSOptions) IsZero() bool { return o.lower().IsZero() }
