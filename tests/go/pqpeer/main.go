// pqpeer: a Go crypto/tls peer (standard library only) for tests/tests/go_pq.rs.
// It makes one TLS 1.3 connection with Go's default key exchange (Go 1.24+
// offers X25519MLKEM768 first, with an X25519 share alongside), prints the
// group it negotiated, and moves one line each way.
//
//	pqpeer server CERT KEY   listens on 127.0.0.1 (free port, printed as
//	                         "port=N"), serves one connection
//	pqpeer client CA PORT    connects to 127.0.0.1:PORT as "localhost"
//
// Both print "group=0xNNNN NAME" once the handshake is done, then the line
// the peer sent ("got=..."). Every wait is bounded by a 30 s deadline.
package main

import (
	"bufio"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net"
	"os"
	"time"
)

const deadline = 30 * time.Second

func fail(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "pqpeer: "+format+"\n", args...)
	os.Exit(1)
}

// converse reports the group, sends our line, reads the peer's, closes.
func converse(conn *tls.Conn, line string) {
	conn.SetDeadline(time.Now().Add(deadline))
	if err := conn.Handshake(); err != nil {
		fail("handshake: %v", err)
	}
	state := conn.ConnectionState()
	if state.Version != tls.VersionTLS13 {
		fail("negotiated version 0x%04x, not TLS 1.3", state.Version)
	}
	fmt.Printf("group=0x%04x %v\n", uint16(state.CurveID), state.CurveID)
	if _, err := conn.Write([]byte(line + "\n")); err != nil {
		fail("write: %v", err)
	}
	got, err := bufio.NewReader(conn).ReadString('\n')
	if err != nil {
		fail("read: %v", err)
	}
	fmt.Printf("got=%s", got)
	if err := conn.Close(); err != nil {
		fail("close: %v", err)
	}
}

func server(certFile, keyFile string) {
	cert, err := tls.LoadX509KeyPair(certFile, keyFile)
	if err != nil {
		fail("load the key pair: %v", err)
	}
	config := &tls.Config{
		Certificates: []tls.Certificate{cert},
		MinVersion:   tls.VersionTLS13,
	}
	listener, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		fail("listen: %v", err)
	}
	defer listener.Close()
	fmt.Printf("port=%d\n", listener.Addr().(*net.TCPAddr).Port)
	listener.(*net.TCPListener).SetDeadline(time.Now().Add(deadline))
	raw, err := listener.Accept()
	if err != nil {
		fail("accept: %v", err)
	}
	converse(tls.Server(raw, config), "hello from the go server")
}

func client(caFile, port string) {
	pem, err := os.ReadFile(caFile)
	if err != nil {
		fail("read the CA: %v", err)
	}
	roots := x509.NewCertPool()
	if !roots.AppendCertsFromPEM(pem) {
		fail("no certificate in %s", caFile)
	}
	config := &tls.Config{
		RootCAs:    roots,
		ServerName: "localhost",
		MinVersion: tls.VersionTLS13,
	}
	raw, err := net.DialTimeout("tcp", "127.0.0.1:"+port, deadline)
	if err != nil {
		fail("dial: %v", err)
	}
	converse(tls.Client(raw, config), "hello from the go client")
}

func main() {
	if len(os.Args) != 4 {
		fail("usage: pqpeer server CERT KEY | pqpeer client CA PORT")
	}
	switch os.Args[1] {
	case "server":
		server(os.Args[2], os.Args[3])
	case "client":
		client(os.Args[2], os.Args[3])
	default:
		fail("unknown mode %q", os.Args[1])
	}
}
