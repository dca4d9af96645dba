package testserver

import (
	"bufio"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"io"
	"math/big"
	"net"
	"strings"
	"time"
)

// SelfSignedTLS makes a throwaway certificate for tests: an ECDSA P-256
// key and a self-signed certificate valid for one day (from one hour ago,
// to tolerate clock skew) for 127.0.0.1, ::1, localhost and hosts (IP
// addresses or DNS names). server is the config to pass as Options.TLS;
// roots holds the certificate, for the client's tls.Config.RootCAs.
func SelfSignedTLS(hosts ...string) (server *tls.Config, roots *x509.CertPool, err error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, err
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	if err != nil {
		return nil, nil, err
	}
	now := time.Now()
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: "keepftp testserver", Organization: []string{"keepftp tests"}},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.Add(24 * time.Hour),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true, // self-signed: it is its own root
		IPAddresses:           []net.IP{net.IPv4(127, 0, 0, 1), net.IPv6loopback},
		DNSNames:              []string{"localhost"},
	}
	for _, h := range hosts {
		if ip := net.ParseIP(h); ip != nil {
			tmpl.IPAddresses = append(tmpl.IPAddresses, ip)
		} else if h != "" {
			tmpl.DNSNames = append(tmpl.DNSNames, h)
		}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, nil, err
	}
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, nil, err
	}
	roots = x509.NewCertPool()
	roots.AddCert(leaf)
	server = &tls.Config{
		Certificates: []tls.Certificate{{Certificate: [][]byte{der}, PrivateKey: key, Leaf: leaf}},
		MinVersion:   tls.VersionTLS12,
	}
	return server, roots, nil
}

// isAUTH reports whether a client line is an AUTH command (AUTH TLS,
// AUTH SSL, ...): if the server accepts it, TLS starts right after the
// reply.
func isAUTH(line string) bool {
	verb, _, _ := strings.Cut(strings.TrimSpace(line), " ")
	return strings.EqualFold(verb, "AUTH")
}

// pipeRest turns one direction of a session into a byte pipe: what br
// already buffered from src goes first, then everything src sends. It
// returns when either side fails; the caller closes the session.
func (ss *shimSession) pipeRest(dst, src net.Conn, br *bufio.Reader) {
	if n := br.Buffered(); n > 0 {
		b, _ := br.Peek(n)
		if _, err := dst.Write(b); err != nil {
			return
		}
	}
	if _, err := io.Copy(dst, src); err != nil {
		ss.s.logf("shim: TLS pipe: %v", err)
	}
}

// pipe is one direction of an implicit-TLS session, a byte pipe from the
// start.
func (ss *shimSession) pipe(dst, src net.Conn) {
	defer ss.s.wg.Done()
	defer ss.close()
	if _, err := io.Copy(dst, src); err != nil {
		ss.s.logf("shim: TLS pipe: %v", err)
	}
}
