// Package keepftp is an FTP client that never loses a long transfer.
//
// A Client downloads and uploads files, lists and mirrors directories. It
// keeps the control connection alive with NOOPs while data flows (so a NAT
// does not drop it), finds a dead server in bounded time, reconnects with
// bounded backoff, resumes at a verified offset, verifies the result and
// writes files atomically. A program imports this package alone: every
// setting is a field of Options, and every type it meets is defined here.
//
// # A first download
//
//	c := keepftp.NewClient(keepftp.Options{})
//	defer c.Close()
//	out, err := c.Get(ctx, "ftp://ftp.example.org/pub/big.iso", "big.iso")
//	if err != nil {
//		log.Fatalf("%v (%v)", err, keepftp.Classify(err))
//	}
//	fmt.Println(out.Status, out.Size, "bytes, checked by", out.Verified)
//
// URLs are ftp:// (plain), ftpes:// (AUTH TLS on the plain port) and
// ftps:// (TLS from the first byte), with an optional user:password@;
// ParseURL reads them into a Target and refuses anything that could end
// an FTP command (CR, LF, NUL). Options.Credentials completes a login
// the URL leaves out. Passwords never appear in errors, logs or events.
//
// # Options
//
// The zero Options are usable. Timeout bounds every wait for the server;
// Keepalive (or NoKeepalive) sets the NOOPs; Retry (a RetryPolicy) says
// how often a failed transfer, listing or folder is tried again; TLS (a
// TLSOptions) and Proxy (a ProxyOptions) say how servers are reached;
// Parallel is how many files a batch or a mirror moves at once and the
// most connections the Client opens to one server. Logf receives notes
// for a human, ProtocolLog the FTP conversation, Events what happens to
// every file. Each setting has one field: nothing is set twice.
//
// # Files, batches and mirrors
//
// Get and Put move one file; a download to a regular file goes through a
// partial file and a rename (see LocalDest for the others), an upload
// through a temporary on the server, verified, then renamed. GetAll takes
// Jobs (a URL may end in a pattern, "ftp://h/data/*.csv") and PutAll
// Uploads, Options.Parallel at a time; each returns one FileResult per
// file. List returns a folder's Entries, and MkdirAll makes folders.
//
// Mirror copies a remote tree into a local folder, and MirrorUp a local
// tree to the server, on one engine: PlanMirror lists both sides and
// decides, changing nothing, what to copy and why, what is up to date
// and by which rule (a dry run shows that plan); RunPlan does it. With
// MirrorOptions.Delete it also removes, after the transfers, what the
// destination holds and the source does not, and only when every listing
// of the source was complete and every file was copied (ErrNotDeleted
// says why not). A mirror keeps its partial files in
// StagingDir, apart from the files it copies, and copies everything it
// can: what it cannot is reported as a result wrapping ErrLeftOut.
// Options.Filter chooses the names of a tree (a mirror's, a pattern's),
// and Options.RemoveSource makes each verified copy a move.
//
// Batches and mirrors spend few round trips per file: the listing's facts
// stand in for SIZE and MDTM before a transfer where they are precise
// (MLSD), the check after it is one round trip (MLST, or SIZE and MDTM
// written together), and TYPE and FEAT are sent once per pooled
// connection. The check after each transfer is what catches a file that
// changed since the listing or during the transfer.
//
// # Events and progress
//
// Options.Events receives an Event for each step of each file: start,
// progress (every Options.ProgressEvery), retry (with the delay),
// restart, split (segments), verified, warning, skip, delete, done,
// error, removed. Their kinds are
// the EventKind constants; an Event marshals to the JSON line of the
// command line's --json.
//
// # Errors
//
// Classify sorts every error into an ErrorClass: Transient (the retries
// ran out), Intentional (cancelled), Permanent, LoginFailed, NotFound,
// LocalFailed, VerifyFailed, BadURL, LeftOut. The command line's exit
// codes are made from them. errors.Is finds the details a program may
// need: ErrNotFound, ErrPeerDown, ErrGaveUp, ErrBadURL, ErrLeftOut,
// ErrUnsafeName, ErrNotRemoved, and errors.As a *CertError or a
// *ProxyError.
//
// # Connections and what is learned
//
// A Client is safe for concurrent use: it pools control connections per
// server and login, keeps idle ones alive, and reuses them between files.
// What a run learns about a server (the path's idle limit, what the
// server does with NOOPs during transfers, how many connections it takes,
// its features) is kept in a profile in the user's cache directory and
// used by the next run (Options.NoProfile, Options.ProfileDir); the
// keepftp doctor command (package doctor) measures it on purpose.
//
// # Layers
//
// The packages below this one are the layers, each with its own API:
// resume (attempts, backoff, verification, atomic files), transfer (one
// attempt: data, keepalive and replies together), noop (keepalive policy)
// and control (the FTP control connection, the only place that spells the
// protocol). A program needs none of them.
package keepftp
