// Package transfer runs one transfer attempt: a select-style multiplexer
// over the data connection, the keepalive's NOOP ticks, the control
// connection's replies, a data-stall deadline, a rate limit, progress and
// cancellation.
//
// An attempt is complete only when the data connection reached its end, the
// byte count matches the expected size (when known), and the final reply is
// a 2xx. Anything else is an error that says what was seen (Result), so the
// resume layer can decide: reconnect, verify, or give up. Retrying is not
// this package's business.
package transfer
