package noproxy

import (
	"net/netip"
	"strings"
)

// Match reports whether host (a name, or an IPv4 or IPv6 address, in
// brackets or not, without a port) is in list, curl's NO_PROXY syntax:
//
//   - "*" alone matches every host.
//   - Entries are separated by commas, with any blanks around them. As in
//     curl, an entry followed by a blank and no comma ends the list.
//   - A name matches itself and every name under it: "example.com" and
//     ".example.com" match example.com and www.example.com, not
//     notexample.com. Case does not matter, nor a trailing dot.
//   - For a host that is an address, entries are addresses or CIDR ranges
//     ("10.0.0.0/8", "::1", "fe80::/10"). Nothing is resolved: a name
//     never matches an address, nor an address a name.
func Match(list, host string) bool {
	if list == "*" {
		return true
	}
	host = strings.TrimSuffix(strings.TrimPrefix(host, "["), "]")
	if host == "" {
		return false
	}
	ip, err := netip.ParseAddr(host)
	isIP := err == nil
	if !isIP {
		host = strings.TrimSuffix(host, ".")
	}
	rest := list
	for rest != "" {
		rest = strings.TrimLeft(rest, " \t")
		end := strings.IndexAny(rest, " \t,")
		if end < 0 {
			end = len(rest)
		}
		token := rest[:end]
		rest = rest[end:]
		if token != "" {
			if isIP {
				if matchIP(token, ip) {
					return true
				}
			} else if matchName(token, host) {
				return true
			}
		}
		rest = strings.TrimLeft(rest, " \t")
		if !strings.HasPrefix(rest, ",") {
			break
		}
		rest = strings.TrimLeft(rest, ",")
	}
	return false
}

// matchName matches a name entry: the name itself, or a name under it.
func matchName(token, host string) bool {
	token = strings.TrimSuffix(token, ".")
	token = strings.TrimPrefix(token, ".")
	switch {
	case len(token) == len(host):
		return strings.EqualFold(token, host)
	case len(token) < len(host):
		tail := host[len(host)-len(token):]
		return host[len(host)-len(token)-1] == '.' && strings.EqualFold(token, tail)
	}
	return false
}

// matchIP matches an address entry, or a CIDR range.
func matchIP(token string, ip netip.Addr) bool {
	token = strings.TrimSuffix(strings.TrimPrefix(token, "["), "]")
	if strings.Contains(token, "/") {
		p, err := netip.ParsePrefix(token)
		return err == nil && p.Contains(ip.WithZone(""))
	}
	a, err := netip.ParseAddr(token)
	return err == nil && a.WithZone("") == ip.WithZone("")
}
