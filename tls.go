package keepftp

import "github.com/keepftp/keepftp/control"

// TLSOptions are the certificate settings of FTPS connections: trusted
// CAs, a client certificate, public key pins, no verification, a TLS
// version cap. A server certificate that fails them is refused with a
// *control.CertError that names the cause and the certificate's SHA-256
// fingerprint.
type TLSOptions = control.TLSOptions
