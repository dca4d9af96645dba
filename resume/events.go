package resume

import "time"

// EventKind names what happened.
type EventKind string

const (
	EventStart    EventKind = "start"    // an attempt begins (Offset: where)
	EventRetry    EventKind = "retry"    // an attempt failed; the next one comes after Delay and resumes at Offset (-1: as the server says) (Reason)
	EventRestart  EventKind = "restart"  // the local partial cannot be continued (Reason); starting from 0
	EventVerified EventKind = "verified" // the result matched the remote file (Reason: how)
	EventDone     EventKind = "done"
	EventWarning  EventKind = "warning" // something is off but the transfer goes on (Reason): a garbled fact, a check that could not be made
	EventSplit    EventKind = "split"   // segments: a connection that finished its range took over the second half of an open one, from Offset (Reason: which bytes)
)

// Event is reported to Options.Events as a transfer goes.
type Event struct {
	Kind    EventKind
	Attempt int           // 1-based
	Offset  int64         // where the attempt starts or resumes
	Size    int64         // the remote file's size, -1 if unknown
	Delay   time.Duration // retry: the wait before the next attempt
	Reason  string        // retry: the error; restart and verified: why or how
	Reset   bool          // retry: progress started the retry count afresh
}
