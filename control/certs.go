package control

import (
	"crypto/sha256"
	"crypto/subtle"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"errors"
	"fmt"
	"os"
	"strings"
	"time"
)

// TLSOptions are the certificate settings of FTPS connections, as the
// command line gives them (--ca-file, --cert/--key, --pin-sha256,
// --insecure, --tls-max). Config turns them into a *tls.Config.
type TLSOptions struct {
	// CAFile is a PEM file of the certificate authorities to trust instead
	// of the system's (which SSL_CERT_FILE and SSL_CERT_DIR also select).
	CAFile string
	// CertFile and KeyFile are a client certificate and its key (PEM), for
	// servers that require one.
	CertFile, KeyFile string
	// PinSHA256 are base64 SHA-256 hashes of the server's public key
	// (SubjectPublicKeyInfo), like curl's --pinnedpubkey sha256//...: the
	// server's certificate must match one of them. A pin is checked also
	// with Insecure.
	PinSHA256 []string
	// Insecure skips certificate verification (pins still apply).
	Insecure bool
	// MaxVersion caps the TLS version (tls.VersionTLS12 for servers that
	// break with TLS 1.3); 0 lets Go choose.
	MaxVersion uint16
}

// ErrPinMismatch reports a server whose public key matches none of the
// pins.
var ErrPinMismatch = errors.New("public key does not match the pinned SHA-256")

// Config builds the tls.Config. Unreadable or malformed files and pins are
// errors that name the file or the pin.
func (o TLSOptions) Config() (*tls.Config, error) {
	cfg := &tls.Config{InsecureSkipVerify: o.Insecure, MaxVersion: o.MaxVersion}
	if o.CAFile != "" {
		pem, err := os.ReadFile(o.CAFile)
		if err != nil {
			return nil, fmt.Errorf("CA file: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("CA file %s: no PEM certificate in it", o.CAFile)
		}
		cfg.RootCAs = pool
	}
	switch {
	case o.CertFile != "" && o.KeyFile == "", o.CertFile == "" && o.KeyFile != "":
		return nil, errors.New("a client certificate needs both the certificate and the key file")
	case o.CertFile != "":
		cert, err := tls.LoadX509KeyPair(o.CertFile, o.KeyFile)
		if err != nil {
			return nil, fmt.Errorf("client certificate: %w", err)
		}
		cfg.Certificates = []tls.Certificate{cert}
	}
	if len(o.PinSHA256) > 0 {
		pins := make([][]byte, 0, len(o.PinSHA256))
		for _, p := range o.PinSHA256 {
			p = strings.TrimPrefix(strings.TrimSpace(p), "sha256//")
			b, err := base64.StdEncoding.DecodeString(p)
			if err != nil || len(b) != sha256.Size {
				return nil, fmt.Errorf("pin %q: want the base64 of a SHA-256 (44 characters)", p)
			}
			pins = append(pins, b)
		}
		cfg.VerifyConnection = func(cs tls.ConnectionState) error {
			leaf := cs.PeerCertificates[0]
			got := sha256.Sum256(leaf.RawSubjectPublicKeyInfo)
			for _, p := range pins {
				if subtle.ConstantTimeCompare(p, got[:]) == 1 {
					return nil
				}
			}
			return &CertError{Cause: "public key pin mismatch (its pin is sha256//" + base64.StdEncoding.EncodeToString(got[:]) + ")", Cert: leaf, Err: ErrPinMismatch}
		}
	}
	return cfg, nil
}

// CertError reports a server certificate that keepftp refused: why, and
// which certificate (its SHA-256 fingerprint, to compare with what the
// server's administrator sees).
type CertError struct {
	Cause string            // "unknown authority", "name mismatch ...", "expired ...", ...
	Cert  *x509.Certificate // the server's certificate, if it sent one
	Err   error
}

func (e *CertError) Error() string {
	var b strings.Builder
	b.WriteString("TLS: server certificate refused: ")
	b.WriteString(e.Cause)
	if e.Cert != nil {
		fmt.Fprintf(&b, "; certificate SHA-256 %s, subject %q, issuer %q", Fingerprint(e.Cert), e.Cert.Subject.String(), e.Cert.Issuer.String())
	}
	b.WriteString(" (--ca-file to trust its CA, --pin-sha256 to pin its key, --insecure to skip the check)")
	return b.String()
}

func (e *CertError) Unwrap() error { return e.Err }

// Fingerprint is a certificate's SHA-256 fingerprint in the usual
// colon-separated upper-case hex.
func Fingerprint(c *x509.Certificate) string {
	sum := sha256.Sum256(c.Raw)
	var b strings.Builder
	for i, x := range sum {
		if i > 0 {
			b.WriteByte(':')
		}
		fmt.Fprintf(&b, "%02X", x)
	}
	return b.String()
}

// tlsHandshakeError turns a failed handshake into an error that names the
// cause: a *CertError for certificate problems, "TLS: ..." otherwise.
func tlsHandshakeError(err error) error {
	var ce *CertError
	if errors.As(err, &ce) {
		return err
	}
	var cve *tls.CertificateVerificationError
	if !errors.As(err, &cve) {
		return fmt.Errorf("TLS: %w", err)
	}
	var leaf *x509.Certificate
	if len(cve.UnverifiedCertificates) > 0 {
		leaf = cve.UnverifiedCertificates[0]
	}
	return &CertError{Cause: certCause(cve.Err, leaf), Cert: leaf, Err: err}
}

func certCause(err error, leaf *x509.Certificate) string {
	var uae x509.UnknownAuthorityError
	var hne x509.HostnameError
	var cie x509.CertificateInvalidError
	switch {
	case errors.As(err, &hne):
		return fmt.Sprintf("name mismatch: %v", err)
	case errors.As(err, &cie) && cie.Reason == x509.Expired:
		now := time.Now()
		c := cie.Cert
		if c == nil {
			c = leaf
		}
		if c != nil && now.Before(c.NotBefore) {
			return fmt.Sprintf("not yet valid (valid from %s)", c.NotBefore.UTC().Format(time.RFC3339))
		}
		if c != nil {
			return fmt.Sprintf("expired (on %s)", c.NotAfter.UTC().Format(time.RFC3339))
		}
		return "expired"
	case errors.As(err, &uae):
		return "unknown authority (not signed by a trusted CA)"
	}
	return err.Error()
}

// IsZero reports whether no option is set.
func (o TLSOptions) IsZero() bool {
	return o.CAFile == "" && o.CertFile == "" && o.KeyFile == "" && len(o.PinSHA256) == 0 && !o.Insecure && o.MaxVersion == 0
}
