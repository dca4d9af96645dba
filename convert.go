package keepftp

import (
	"github.com/keepftp/keepftp/control"
	"github.com/keepftp/keepftp/resume"
)

// The face's types and the layers' own, converted at the Client's
// boundary: field for field, nothing dropped that a program sees.

func (t Target) lower() resume.Target {
	return resume.Target{Addr: t.Addr, User: t.User, Password: t.Password, Path: t.Path, TLSMode: control.TLSMode(t.TLSMode)}
}

func targetOf(t resume.Target) Target {
	return Target{Addr: t.Addr, User: t.User, Password: t.Password, Path: t.Path, TLSMode: TLSMode(t.TLSMode)}
}

func entryOf(e control.Entry) Entry {
	return Entry{Name: e.Name, Type: EntryType(e.Type), Size: e.Size, ModTime: e.ModTime, Target: e.Target, Facts: e.Facts}
}

func entriesOf(es []control.Entry) []Entry {
	if es == nil {
		return nil
	}
	out := make([]Entry, len(es))
	for i, e := range es {
		out[i] = entryOf(e)
	}
	return out
}

func outcomeOf(o resume.Outcome) Outcome {
	return Outcome{Size: o.Size, Attempts: o.Attempts, Received: o.Received, Verified: o.Verified, Status: o.Status, TimeSet: o.TimeSet}
}

func (p RetryPolicy) lower() resume.Policy {
	return resume.Policy{Retries: p.Retries, BaseDelay: p.BaseDelay, MaxDelay: p.MaxDelay, MaxAttempts: p.MaxAttempts, Deadline: p.Deadline}
}

func policyOf(p resume.Policy) RetryPolicy {
	return RetryPolicy{Retries: p.Retries, BaseDelay: p.BaseDelay, MaxDelay: p.MaxDelay, MaxAttempts: p.MaxAttempts, Deadline: p.Deadline}
}

func (o TLSOptions) lower() control.TLSOptions {
	return control.TLSOptions{CAFile: o.CAFile, CertFile: o.CertFile, KeyFile: o.KeyFile, PinSHA256: o.PinSHA256, Insecure: o.Insecure, MaxVersion: o.MaxVersion}
}
