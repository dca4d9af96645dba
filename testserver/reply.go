package testserver

import (
	"bufio"
	"strconv"
	"strings"
)

// reply is one complete FTP reply (all lines of a multi-line reply) as it
// was read from the wire. raw is kept byte-for-byte so that proxies can
// forward it unchanged; code is 0 when the text does not start with a
// three-digit code (a non-conforming line is forwarded as is).
type reply struct {
	raw  string
	code int
}

// final reports whether the reply completes a command (2xx-5xx), as opposed
// to a preliminary 1xx such as the 150 that starts a transfer.
func (r reply) final() bool { return r.code >= 200 && r.code <= 599 }

func (r reply) preliminary() bool { return r.code >= 100 && r.code <= 199 }

// readReply reads one whole reply. Proxies must not inject their own
// replies in the middle of a multi-line reply ("123-" ... "123 "), so they
// handle the stream reply by reply rather than byte by byte. On error the
// partial text read so far is returned along with the error.
func readReply(br *bufio.Reader) (reply, error) {
	first, err := br.ReadString('\n')
	if err != nil {
		return reply{raw: first, code: replyCode(first)}, err
	}
	r := reply{raw: first, code: replyCode(first)}
	if r.code == 0 || len(first) < 4 || first[3] != '-' {
		return r, nil
	}
	var b strings.Builder
	b.WriteString(first)
	end := first[:3] + " "
	for {
		line, err := br.ReadString('\n')
		b.WriteString(line)
		if err != nil {
			r.raw = b.String()
			return r, err
		}
		if strings.HasPrefix(line, end) || strings.TrimRight(line, "\r\n") == first[:3] {
			r.raw = b.String()
			return r, nil
		}
	}
}

func replyCode(line string) int {
	if len(line) < 3 {
		return 0
	}
	if len(line) > 3 && line[3] != ' ' && line[3] != '-' && line[3] != '\r' && line[3] != '\n' {
		return 0
	}
	c, err := strconv.Atoi(line[:3])
	if err != nil || c < 100 || c > 599 {
		return 0
	}
	return c
}

// parse227 extracts the data address announced by a 227 reply
// "227 Entering Passive Mode (h1,h2,h3,h4,p1,p2)". start and end delimit
// the six numbers in text so the reply can be rewritten in place.
func parse227(text string) (ip string, port int, start, end int, ok bool) {
	open := strings.IndexByte(text, '(')
	if open < 0 {
		// RFC 959 does not mandate the parentheses; find the first digit run.
		open = strings.IndexAny(text[3:], "0123456789")
		if open < 0 {
			return "", 0, 0, 0, false
		}
		open += 3 - 1
	}
	i := open + 1
	nums := make([]int, 0, 6)
	for len(nums) < 6 {
		j := i
		for j < len(text) && text[j] >= '0' && text[j] <= '9' {
			j++
		}
		if j == i {
			return "", 0, 0, 0, false
		}
		n, _ := strconv.Atoi(text[i:j])
		if n > 255 {
			return "", 0, 0, 0, false
		}
		nums = append(nums, n)
		i = j
		if len(nums) < 6 {
			if i >= len(text) || text[i] != ',' {
				return "", 0, 0, 0, false
			}
			i++
		}
	}
	ip = strconv.Itoa(nums[0]) + "." + strconv.Itoa(nums[1]) + "." + strconv.Itoa(nums[2]) + "." + strconv.Itoa(nums[3])
	return ip, nums[4]*256 + nums[5], open + 1, i, true
}

// parse229 extracts the port of "229 Entering Extended Passive Mode
// (|||port|)"; start and end delimit the port digits. RFC 2428 allows any
// delimiter character, not only '|'.
func parse229(text string) (port int, start, end int, ok bool) {
	open := strings.IndexByte(text, '(')
	if open < 0 || open+4 >= len(text) {
		return 0, 0, 0, false
	}
	d := text[open+1]
	if text[open+2] != d || text[open+3] != d {
		return 0, 0, 0, false
	}
	i := open + 4
	j := i
	for j < len(text) && text[j] >= '0' && text[j] <= '9' {
		j++
	}
	if j == i || j >= len(text) || text[j] != d {
		return 0, 0, 0, false
	}
	p, err := strconv.Atoi(text[i:j])
	if err != nil || p <= 0 || p > 65535 {
		return 0, 0, 0, false
	}
	return p, i, j, true
}
