package doctor

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"time"
)

// Report is what the doctor found.
type Report struct {
	Server       string            `json:"server"`
	Greeting     string            `json:"greeting,omitempty"`
	Features     map[string]string `json:"features"`
	NoopDownload string            `json:"noop_during_download"` // a noop.Behaviour, or why it is unknown
	NoopUpload   string            `json:"noop_during_upload"`
	RestStream   bool              `json:"rest_stream"`
	MLSD         bool              `json:"mlsd"`
	Hashes       []string          `json:"hashes"`
	EPSV         bool              `json:"epsv"`
	PASV         bool              `json:"pasv"`
	TLS          bool              `json:"auth_tls"`
	TLSCheck     string            `json:"tls_check,omitempty"` // what AUTH TLS with certificate verification gave
	Idle         *IdleResult       `json:"idle,omitempty"`
	Recommend    Recommendation    `json:"recommend"`
	Notes        []string          `json:"notes,omitempty"`
	Profile      string            `json:"profile,omitempty"` // where the findings were remembered
}

// IdleResult is the path's control-idle limit: a gap of Survived was
// survived and one of Failed was not (Failed 0: none failed up to Max).
type IdleResult struct {
	Survived Duration `json:"survived"`
	Failed   Duration `json:"failed,omitempty"`
	Max      Duration `json:"max"`
	How      string   `json:"how,omitempty"` // what the failure looked like
}

// Recommendation is what to give keepftp.
type Recommendation struct {
	Timeout   Duration `json:"timeout"`
	Keepalive Duration `json:"keepalive"`
	Why       string   `json:"why"`
}

// Duration marshals as a Go duration string ("1.5s").
type Duration time.Duration

func (d Duration) MarshalJSON() ([]byte, error) { return json.Marshal(time.Duration(d).String()) }
func (d Duration) String() string               { return time.Duration(d).String() }

// WriteJSON writes the report as one JSON object.
func (r Report) WriteJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(r)
}

// WriteText writes the report for a person.
func (r Report) WriteText(w io.Writer) {
	yes := func(b bool) string {
		if b {
			return "yes"
		}
		return "no"
	}
	fmt.Fprintf(w, "server:               %s\n", r.Server)
	if r.Greeting != "" {
		fmt.Fprintf(w, "greeting:             %s\n", r.Greeting)
	}
	fmt.Fprintf(w, "NOOP during download: %s\n", r.NoopDownload)
	fmt.Fprintf(w, "NOOP during upload:   %s\n", r.NoopUpload)
	fmt.Fprintf(w, "REST STREAM:          %s\n", yes(r.RestStream))
	fmt.Fprintf(w, "MLSD:                 %s\n", yes(r.MLSD))
	hashes := "none"
	if len(r.Hashes) > 0 {
		hashes = strings.Join(r.Hashes, ", ")
	}
	fmt.Fprintf(w, "hashes:               %s\n", hashes)
	fmt.Fprintf(w, "EPSV / PASV:          %s / %s\n", yes(r.EPSV), yes(r.PASV))
	fmt.Fprintf(w, "AUTH TLS:             %s\n", yes(r.TLS))
	if r.TLSCheck != "" {
		fmt.Fprintf(w, "TLS check:            %s\n", r.TLSCheck)
	}
	if r.Idle != nil {
		if r.Idle.Survived == 0 && r.Idle.Failed > 0 {
			fmt.Fprintf(w, "control idle limit:   at most %s (%s)\n", r.Idle.Failed, r.Idle.How)
		} else if r.Idle.Failed == 0 {
			fmt.Fprintf(w, "control idle limit:   none found up to %s\n", r.Idle.Max)
		} else {
			fmt.Fprintf(w, "control idle limit:   between %s and %s (%s)\n", r.Idle.Survived, r.Idle.Failed, r.Idle.How)
		}
	}
	for _, n := range r.Notes {
		fmt.Fprintf(w, "note:                 %s\n", n)
	}
	fmt.Fprintf(w, "recommended:          --timeout %s --keepalive %s (%s)\n", r.Recommend.Timeout, r.Recommend.Keepalive, r.Recommend.Why)
	if r.Profile != "" {
		fmt.Fprintf(w, "remembered in:        %s (later runs use it; doctor --forget removes it)\n", r.Profile)
	}
}
