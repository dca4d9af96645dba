package realserver

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"time"
)

// TLSMode says whether a server requires FTPS.
type TLSMode int

const (
	NoTLS       TLSMode = iota // plain FTP
	ExplicitTLS                // AUTH TLS required on control, PROT P on data
	ImplicitTLS                // TLS from the first byte (vsftpd only)
)

func (m TLSMode) String() string {
	return [...]string{"plain", "explicit TLS", "implicit TLS"}[m]
}

// PKI is a certificate authority and a server certificate it signed, made
// in the test: RSA keys (every server's TLS module takes them), valid from
// an hour ago for a day, for 127.0.0.1, ::1 and localhost.
type PKI struct {
	CA      *x509.Certificate
	Roots   *x509.CertPool // holds CA: the client's RootCAs
	CAFile  string         // CA in PEM, for --ca-file and SSL_CERT_FILE
	Leaf    *x509.Certificate
	certPEM []byte // leaf then CA
	keyPEM  []byte
}

// LeafSHA256 is the server certificate's SHA-256 fingerprint.
func (p *PKI) LeafSHA256() [32]byte { return sha256.Sum256(p.Leaf.Raw) }

// SPKISHA256 is the SHA-256 of the server key's SubjectPublicKeyInfo
// (curl's --pinnedpubkey sha256//...).
func (p *PKI) SPKISHA256() [32]byte { return sha256.Sum256(p.Leaf.RawSubjectPublicKeyInfo) }

var testPKI struct {
	once sync.Once
	pki  *PKI
	err  error
}

// TestPKI returns the process's test PKI, made on first use (RSA key
// generation is slow under the race detector: once is enough).
func TestPKI() (*PKI, error) {
	testPKI.once.Do(func() { testPKI.pki, testPKI.err = newPKI() })
	return testPKI.pki, testPKI.err
}

func newPKI() (*PKI, error) {
	caKey, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return nil, err
	}
	leafKey, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return nil, err
	}
	now := time.Now()
	caTmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "keepftp test CA"},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.Add(24 * time.Hour),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		return nil, err
	}
	ca, err := x509.ParseCertificate(caDER)
	if err != nil {
		return nil, err
	}
	leafTmpl := &x509.Certificate{
		SerialNumber: big.NewInt(2),
		Subject:      pkix.Name{CommonName: "localhost"},
		NotBefore:    now.Add(-time.Hour),
		NotAfter:     now.Add(24 * time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature | x509.KeyUsageKeyEncipherment,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		IPAddresses:  []net.IP{net.IPv4(127, 0, 0, 1), net.IPv6loopback},
		DNSNames:     []string{"localhost"},
	}
	leafDER, err := x509.CreateCertificate(rand.Reader, leafTmpl, ca, &leafKey.PublicKey, caKey)
	if err != nil {
		return nil, err
	}
	leaf, err := x509.ParseCertificate(leafDER)
	if err != nil {
		return nil, err
	}
	p := &PKI{CA: ca, Roots: x509.NewCertPool(), Leaf: leaf}
	p.Roots.AddCert(ca)
	caPEM := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: caDER})
	p.certPEM = append(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: leafDER}), caPEM...)
	p.keyPEM = pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(leafKey)})
	dir, err := os.MkdirTemp("", "keepftp-pki-")
	if err != nil {
		return nil, err
	}
	p.CAFile = filepath.Join(dir, "ca.pem")
	if err := os.WriteFile(p.CAFile, caPEM, 0o644); err != nil {
		return nil, err
	}
	return p, nil
}

// tlsFiles are a server's certificate files, in its etc directory.
type tlsFiles struct {
	cert     string // leaf and CA, PEM
	key      string // the leaf's key, PEM
	combined string // key then certificates (pure-ftpd's -2 file)
}

// writeTLSFiles writes the test PKI's server certificate and key where the
// server reads them (mode 0600, root's: servers read them before dropping
// privileges).
func (s *Server) writeTLSFiles() (tlsFiles, error) {
	p, err := TestPKI()
	if err != nil {
		return tlsFiles{}, fmt.Errorf("realserver: test PKI: %w", err)
	}
	s.PKI = p
	f := tlsFiles{
		cert:     filepath.Join(s.etc(), "cert.pem"),
		key:      filepath.Join(s.etc(), "key.pem"),
		combined: filepath.Join(s.etc(), "combined.pem"),
	}
	for name, data := range map[string][]byte{
		f.cert:     p.certPEM,
		f.key:      p.keyPEM,
		f.combined: append(append([]byte(nil), p.keyPEM...), p.certPEM...),
	} {
		if err := os.WriteFile(name, data, 0o600); err != nil {
			return tlsFiles{}, err
		}
	}
	return f, nil
}

// checkTLS reports whether kind's TLS support is installed: proftpd's
// mod_tls (package proftpd-mod-crypto), pyftpdlib's pyOpenSSL (package
// python3-openssl).
func checkTLS(kind Kind, b binaries) error {
	switch kind {
	case Proftpd:
		if _, err := os.Stat(filepath.Join(b.modules, "mod_tls.so")); err != nil {
			return fmt.Errorf("%w: proftpd: mod_tls (proftpd-mod-crypto) not found: %v (install it with %s)", ErrNotInstalled, err, InstallHint)
		}
	case Pyftpdlib:
		if out, err := exec.Command(b.server, "-c", "import OpenSSL").CombinedOutput(); err != nil {
			return fmt.Errorf("%w: pyftpdlib: python module OpenSSL (python3-openssl) missing: %s (install it with %s)", ErrNotInstalled, strings.TrimSpace(string(out)), InstallHint)
		}
	}
	return nil
}
