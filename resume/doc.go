// Package resume turns one-attempt transfers (package transfer) into
// transfers that finish or stop with a clear reason: it classifies errors,
// reconnects with bounded backoff, restarts at a verified offset, verifies
// the result and writes files atomically: a download to NAME.part, fsync,
// rename; an upload to a temporary on the server (UploadPartName),
// verified, its time set and read back, then renamed (PutFile). What
// is not a regular file (a device, a FIFO, a socket, standard output) is
// written in place, as a stream, and never replaced (LocalDest).
//
// Nothing about a stream that broke is assumed: every new attempt re-checks
// the remote file before it continues.
//
// # Round trips, and why a changed file is still caught
//
// A download needs the remote file's facts (size, modification time, MLST
// unique) twice: before the transfer, to know what to expect and whether a
// partial file may be continued, and after it, to know that the file did
// not change meanwhile. Each look costs one round trip: MLST where the
// server has it, else SIZE and MDTM written together (control.Conn.Stat).
// When a listing already gave precise facts (MLSD's size and modify,
// Options.Known), the first attempt starts from them and asks nothing
// before the transfer. The look after the transfer is always made and
// compared with the facts the transfer started from, so a file that changed
// after the listing, or between attempts, or during the transfer, shows as
// a different size, time or unique id: the download starts over from the
// server's new facts. A LIST time, to the minute in the server's zone, is
// not precise enough to stand in for MDTM; with LIST the look before the
// transfer is made too, and it costs no round trip of its own: SIZE and
// MDTM go with the EPSV that opens the data port (control.Conn.StatPassive),
// and the RETR that follows uses that port. If the look shows the file
// changed or gone, the port is left unused: nothing waits on it. A caller
// that fetches files one after another (a mirror) names the next one
// through Options.Next: the check after this transfer asks the next
// file's SIZE and MDTM and its EPSV in the same round trip, Get returns
// those facts as Outcome.Next, and they are the next file's Known. They are the server's, taken just before; the next
// file's own check after its transfer compares with them like with any.
// Where the caller says the next file is fetched from its start, at once,
// on the same connection (Options.NextFromStart), its RETR goes in that
// write too, where the server allows it (control.Transfer.StatRetrBehind):
// its data starts as soon as the EPSV's port is connected to.
//
// # Progress and retries
//
// Policy.Retries counts attempts in a row without progress, and progress
// is bytes past the furthest point any earlier attempt reached: the
// overlap re-read at each resume, or data fetched again, is none. A server
// that always stops at the same point uses up the retries.
//
// # Facts that cannot be trusted
//
// A garbled fact (a SIZE that is not a non-negative number, a time that is
// no time or that a local file cannot carry) is treated as unknown, with an
// EventWarning, and the transfer goes on, checked by what remains. A SIZE
// below the data the server sends from offset 0 is not trusted again for
// that file. A result that nothing could check (no size, no hash) is
// reported with Outcome.Verified NotVerified and a status ending in
// "(unverified)": no check is ever claimed that was not made.
package resume
