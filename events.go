package keepftp

import "github.com/keepftp/keepftp/resume"

// EventKind names what happened to a file; it is the "event" of --json.
type EventKind string

// The kinds of Event. The ones of a single attempt come from the retry
// loop; the others are the Client's own.
const (
	EventStart    = EventKind(resume.EventStart)    // an attempt begins (Offset: where)
	EventRetry    = EventKind(resume.EventRetry)    // an attempt failed; the next comes after Delay, from Offset
	EventRestart  = EventKind(resume.EventRestart)  // the local partial cannot be continued: from 0 (Reason)
	EventVerified = EventKind(resume.EventVerified) // the result matched the remote file (Reason: how)
	EventWarning  = EventKind(resume.EventWarning)  // something is off, the work goes on (Reason)
	EventDone     = EventKind(resume.EventDone)     // the file is complete (Status, Reason: how it was checked)
	EventSplit    = EventKind(resume.EventSplit)    // segments: a connection that finished its range took over half of an open one, from Offset

	EventProgress EventKind = "progress" // bytes done so far (Bytes, Size)
	EventSkip     EventKind = "skip"     // mirror: the destination is up to date (Reason: by which rule)
	EventDelete   EventKind = "delete"   // mirror: a file removed from the destination (Reason: why)
	EventError    EventKind = "error"    // the file failed for good (Reason)
	EventRemoved  EventKind = "removed"  // the source of a verified copy was removed (Reason: which, and how the copy was checked)
)
