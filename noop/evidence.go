package noop

import "time"

// What counts as a server aborting a transfer in answer to a NOOP.
//
// Only the server can say so, and it says so on the control connection:
// the transfer's final reply is a failure (4xx or 5xx) and it comes right
// after a NOOP, while data was still flowing. Everything a path can do to
// a transfer looks different: a middlebox that stalls the data leaves no
// data flowing and no reply (keepftp's own stall deadline ends the
// attempt); a reset cuts the data connection and the server, if it answers
// at all, reports the broken connection and answers the NOOP as well; a
// control flow that vanished brings no reply at all. With NOOPs every
// second, any of these comes "right after a NOOP" by chance, so timing
// alone proves nothing.

// Ending is how a transfer during which NOOPs were written ended: the
// facts the abort rule reads, as the transfer layer saw them.
type Ending struct {
	// Reply is the code of the transfer's final reply, 0 when none came
	// (the data stalled, the control connection vanished or went silent).
	Reply   int
	ReplyAt time.Time
	// LastNoop is when the last NOOP before the reply was written.
	LastNoop time.Time
	// LastData is when data last moved on the data connection before the
	// reply.
	LastData time.Time
	// DataFault is when the data connection broke (reset, closed early,
	// short) before the reply came; zero if it did not.
	DataFault time.Time
	// Unanswered is true when some NOOP got no answer of its own, before
	// the final reply or after it: the failure reply may be its answer.
	Unanswered bool
	// Window is how soon after a NOOP the server's answer to it can
	// arrive: two round trips plus slack.
	Window time.Duration
	// Quiet is how long the data may have been still before the NOOP and
	// still count as flowing: well under a stall, which lasts a whole
	// timeout (a quarter of it, say, as a data connection that moves
	// data in rate-limited bursts or in big zero-copy chunks reports
	// progress only now and then).
	Quiet time.Duration
}

// ServerAborted reports whether the ending is evidence that the server
// aborted the transfer in answer to a NOOP:
//   - the final reply is a failure, 4xx or 5xx (a final 1xx is pure-ftpd's
//     report of its own stall timeout or of a closed data socket);
//   - it came within Window after the last NOOP;
//   - data moved within Quiet before that NOOP, or after it: the transfer
//     was not stalled;
//   - the data connection did not break before that NOOP (the server's
//     reply then reports the break), and, if it broke before the reply,
//     the NOOP went unanswered: a server that answered every NOOP and
//     reported a broken data connection reported a reset, which a path
//     can cause.
func (e Ending) ServerAborted() bool {
	switch {
	case e.Reply < 400 || e.Reply >= 600, e.LastNoop.IsZero():
		return false
	case e.ReplyAt.Before(e.LastNoop), e.ReplyAt.Sub(e.LastNoop) > e.Window:
		return false // not right after a NOOP
	case e.LastData.Before(e.LastNoop.Add(-max(e.Quiet, e.Window))):
		return false // the data had stopped already: a stall
	case e.DataFault.IsZero():
		return true
	case e.DataFault.Before(e.LastNoop):
		return false // broken before the NOOP was written
	}
	return e.Unanswered
}

// answerSlack is what AnswerWindow allows past two round trips: the
// server's reaction, and the scheduling of a loaded client, which can
// take a good fraction of a second between the reply's arrival and the
// moment it is looked at. It stays far below the NOOP interval, so a
// failure still has to follow a NOOP closely to count.
const answerSlack = 250 * time.Millisecond

// AnswerWindow is how soon after a NOOP its answer can arrive on a
// connection whose round trip is rtt (Ending.Window).
func AnswerWindow(rtt time.Duration) time.Duration { return 2*rtt + answerSlack }
