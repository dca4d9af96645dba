package control

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"strconv"
)

// openData sets up a passive data connection: EPSV first (RFC 2428, the
// only choice over IPv6, where PASV is broken on real servers), PASV when
// EPSV is refused. The address in a 227 reply is ignored unless
// Config.UsePASVAddress: the control connection's peer is dialled. Called
// with the command slot held.
func (c *Conn) openData(ctx context.Context) (net.Conn, error) {
	if p, ok := c.takePassive(); ok {
		// A port from an EPSV written ahead (StatPassive). If it cannot be
		// reached (the server dropped an idle listener), ask for a new one.
		addr := net.JoinHostPort(p.host, strconv.Itoa(int(p.port)))
		nc, err := c.cfg.dial(ctx, addr)
		if err == nil {
			return nc, nil
		}
		if ctx.Err() != nil {
			return nil, fmt.Errorf("data connection to %s: %w", addr, err)
		}
		c.logf("data connection to %s (opened ahead): %v; asking for another port", addr, err)
	}
	port, host, err := c.passive(ctx)
	if err != nil {
		return nil, err
	}
	addr := net.JoinHostPort(host, strconv.Itoa(int(port)))
	nc, err := c.cfg.dial(ctx, addr)
	if err != nil {
		return nil, fmt.Errorf("data connection to %s: %w", addr, err)
	}
	return nc, nil
}

// passivePort is a passive data port the server opened for the next
// transfer, from an EPSV written together with other commands.
type passivePort struct {
	port uint16
	host string
}

// keepPassive keeps the port an EPSV written ahead opened, for the next
// transfer; an EPSV refused for good is learned as in passive. Called with
// the command slot held, after the batch that wrote the EPSV.
func (c *Conn) keepPassive(rep BatchReply) {
	ipv6 := c.ipv6()
	if rep.Err != nil {
		if !ipv6 && IsPermanent(rep.Err) {
			c.noEPSV.Store(true)
		}
		return
	}
	port, err := parseEPSV(rep.data())
	if err != nil {
		return // StartTransfer asks again, and reports it
	}
	c.worked.epsv.Store(true)
	c.mu.Lock()
	c.ahead = &passivePort{port: port, host: c.host}
	c.mu.Unlock()
}

// takePassive takes the port kept by keepPassive, if no command was
// written since.
func (c *Conn) takePassive() (passivePort, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	p := c.ahead
	c.ahead = nil
	if p == nil {
		return passivePort{}, false
	}
	return *p, true
}

func (c *Conn) passive(ctx context.Context) (uint16, string, error) {
	peer := c.host
	ipv6 := c.ipv6()
	if !c.noEPSV.Load() || ipv6 {
		rep, err := c.cmdLocked(ctx, 229, fixedCmd("EPSV", ""))
		if err == nil {
			c.worked.epsv.Store(true)
			port, err := parseEPSV(rep.data())
			return port, peer, rep.hide(err)
		}
		if ipv6 || !IsPermanent(err) {
			return 0, "", err
		}
		c.noEPSV.Store(true)
	}
	rep, err := c.cmdLocked(ctx, 227, fixedCmd("PASV", ""))
	if err != nil {
		return 0, "", err
	}
	ap, err := parsePASV(rep.data())
	if err != nil {
		return 0, "", rep.hide(err)
	}
	if c.cfg.UsePASVAddress && ap.Addr() != netip.IPv4Unspecified() {
		return ap.Port(), ap.Addr().String(), nil
	}
	if ap.Addr().String() != peer {
		c.logf("PASV address %s ignored; using the control peer %s", ap.Addr(), peer)
	}
	return ap.Port(), peer, nil
}
