// Package doctor probes an FTP server and the network path to it, and says
// what keepftp should be told: how the server answers NOOPs during
// downloads and uploads, which features it has (REST STREAM, MLSD, hashes,
// EPSV/PASV, TLS), and, on request, after how long the path forgets a
// silent control connection.
package doctor
