// vcsim for vmledger: launches govmomi's vCenter simulator (simulator.VPX) with an
// inventory shaped by flags, prints one JSON line describing how to reach it, and
// serves until stdin closes or SIGTERM/SIGINT arrives.
//
// Built from Debian's golang-github-vmware-govmomi-dev (0.24), whose PropertyCollector
// ignores RetrieveOptions.maxObjects and has no ContinueRetrievePropertiesEx. Real
// vCenter pages property results (and caps a page well below maxObjects), so this
// launcher wraps the PropertyCollector with paging that honours maxObjects and an
// optional server-side cap (-page-cap), which is what lets the agent's paging be tested.
//
// With -vapi (the default) it also serves vCenter's vAPI REST endpoints (/rest, from
// govmomi's vapi/simulator: sessions, tag categories, tags, tag associations) and, with
// -tags, seeds them: see seedTags for the model the tests read back.
package main

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"io/ioutil"
	"math/big"
	"net"
	"net/url"
	"os"
	"os/signal"
	"sort"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/vmware/govmomi"
	"github.com/vmware/govmomi/simulator"
	"github.com/vmware/govmomi/vapi/rest"
	_ "github.com/vmware/govmomi/vapi/simulator" // registers the vAPI REST endpoints
	"github.com/vmware/govmomi/vapi/tags"
	"github.com/vmware/govmomi/view"
	"github.com/vmware/govmomi/vim25/methods"
	"github.com/vmware/govmomi/vim25/mo"
	"github.com/vmware/govmomi/vim25/soap"
	"github.com/vmware/govmomi/vim25/types"
)

// pagingCollector adds RetrievePropertiesEx paging to the simulator's PropertyCollector.
// The simulator makes one instance per session with reflect.New (and two concurrent first
// calls of a session can each make one), so pending results live in one process-wide map
// keyed by unique tokens rather than in the instance.
type pagingCollector struct {
	simulator.PropertyCollector
}

var (
	pmu     sync.Mutex
	pending = make(map[string]pendingResult)
)

// pendingResult is what a token still owes, and the page size its caller asked for.
type pendingResult struct {
	objects []types.ObjectContent
	max     int32
}

var pageCap int32
var tokenSeq int64

func (pc *pagingCollector) page(objects []types.ObjectContent, max int32) types.RetrieveResult {
	limit := int(max)
	if pageCap > 0 && (limit <= 0 || limit > int(pageCap)) {
		limit = int(pageCap)
	}
	if limit <= 0 || len(objects) <= limit {
		return types.RetrieveResult{Objects: objects}
	}
	token := strconv.FormatInt(atomic.AddInt64(&tokenSeq, 1), 10)
	pmu.Lock()
	pending[token] = pendingResult{objects: objects[limit:], max: max}
	pmu.Unlock()
	return types.RetrieveResult{Token: token, Objects: objects[:limit]}
}

// RetrievePropertiesEx returns the first page and a token when more objects remain.
func (pc *pagingCollector) RetrievePropertiesEx(ctx *simulator.Context, r *types.RetrievePropertiesEx) soap.HasFault {
	res := pc.PropertyCollector.RetrievePropertiesEx(ctx, r)
	body, ok := res.(*methods.RetrievePropertiesExBody)
	if !ok || body.Res == nil || body.Res.Returnval == nil {
		return res
	}
	page := pc.page(body.Res.Returnval.Objects, r.Options.MaxObjects)
	body.Res.Returnval = &page
	return body
}

// ContinueRetrievePropertiesEx returns the next page for a token, as vCenter does.
func (pc *pagingCollector) ContinueRetrievePropertiesEx(ctx *simulator.Context, r *types.ContinueRetrievePropertiesEx) soap.HasFault {
	body := &methods.ContinueRetrievePropertiesExBody{}
	pmu.Lock()
	rest, ok := pending[r.Token]
	delete(pending, r.Token)
	pmu.Unlock()
	if !ok {
		body.Fault_ = simulator.Fault("unknown or finished token", &types.InvalidArgument{InvalidProperty: "token"})
		return body
	}
	body.Res = &types.ContinueRetrievePropertiesExResponse{Returnval: pc.page(rest.objects, rest.max)}
	return body
}

// CancelRetrievePropertiesEx drops the rest of a paged result.
func (pc *pagingCollector) CancelRetrievePropertiesEx(ctx *simulator.Context, r *types.CancelRetrievePropertiesEx) soap.HasFault {
	pmu.Lock()
	delete(pending, r.Token)
	pmu.Unlock()
	return &methods.CancelRetrievePropertiesExBody{Res: &types.CancelRetrievePropertiesExResponse{}}
}

// selfSignedCert makes a P-256 certificate for 127.0.0.1/localhost that is its own CA.
// The simulator's built-in test certificate is RSA-1024, which OpenSSL (Node 24) rejects
// as too weak even when it is given as the trusted CA.
func selfSignedCert() (tls.Certificate, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return tls.Certificate{}, err
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(time.Now().UnixNano()),
		Subject:               pkix.Name{CommonName: "vcsim.localhost", Organization: []string{"vmledger vcsim"}},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(24 * time.Hour),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
		IPAddresses:           []net.IP{net.ParseIP("127.0.0.1")},
		DNSNames:              []string{"localhost"},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return tls.Certificate{}, err
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}, nil
}

// seedTags creates two tag categories and attaches their tags to the VMs (sorted by moref
// number, index i) in four batch calls, whatever the VM count:
//
//	Environment (SINGLE):   Production on even i, Test on odd i; Production also on the first host
//	Owner       (MULTIPLE): team-a on i%3 == 0, team-b on i%3 != 2 (so i%3 == 0 has both)
//
// Tests read the attachments back through the REST API rather than trusting this comment.
func seedTags(ctx context.Context, u *url.URL) (int, error) {
	c, err := govmomi.NewClient(ctx, u, true)
	if err != nil {
		return 0, err
	}
	defer func() { _ = c.Logout(ctx) }()
	rc := rest.NewClient(c.Client)
	if err := rc.Login(ctx, u.User); err != nil {
		return 0, err
	}
	defer func() { _ = rc.Logout(ctx) }()
	m := tags.NewManager(rc)
	ids := map[string]string{}
	for _, cat := range []struct {
		name, card string
		tags       []string
	}{
		{"Environment", "SINGLE", []string{"Production", "Test"}},
		{"Owner", "MULTIPLE", []string{"team-a", "team-b"}},
	} {
		cid, err := m.CreateCategory(ctx, &tags.Category{Name: cat.name, Description: cat.name + " of the VM", Cardinality: cat.card, AssociableTypes: []string{"VirtualMachine", "HostSystem"}})
		if err != nil {
			return 0, err
		}
		for _, t := range cat.tags {
			tid, err := m.CreateTag(ctx, &tags.Tag{Name: t, CategoryID: cid})
			if err != nil {
				return 0, err
			}
			ids[t] = tid
		}
	}
	v, err := view.NewManager(c.Client).CreateContainerView(ctx, c.ServiceContent.RootFolder, []string{"VirtualMachine", "HostSystem"}, true)
	if err != nil {
		return 0, err
	}
	defer func() { _ = v.Destroy(ctx) }()
	var vms []mo.VirtualMachine
	if err := v.Retrieve(ctx, []string{"VirtualMachine"}, []string{"name"}, &vms); err != nil {
		return 0, err
	}
	var hosts []mo.HostSystem
	if err := v.Retrieve(ctx, []string{"HostSystem"}, []string{"name"}, &hosts); err != nil {
		return 0, err
	}
	num := func(s string) int {
		n, _ := strconv.Atoi(s[len("vm-"):])
		return n
	}
	sort.Slice(vms, func(a, b int) bool { return num(vms[a].Self.Value) < num(vms[b].Self.Value) })
	refs := map[string][]mo.Reference{}
	for i := range vms {
		ref := vms[i].Self
		if i%2 == 0 {
			refs["Production"] = append(refs["Production"], ref)
		} else {
			refs["Test"] = append(refs["Test"], ref)
		}
		if i%3 == 0 {
			refs["team-a"] = append(refs["team-a"], ref)
		}
		if i%3 != 2 {
			refs["team-b"] = append(refs["team-b"], ref)
		}
	}
	if len(hosts) > 0 {
		refs["Production"] = append(refs["Production"], hosts[0].Self)
	}
	attached := 0
	for name, objs := range refs {
		if err := m.AttachTagToMultipleObjects(ctx, ids[name], objs); err != nil {
			return 0, err
		}
		attached += len(objs)
	}
	return attached, nil
}

type ready struct {
	URL          string         `json:"url"`
	SDK          string         `json:"sdk"`
	Username     string         `json:"username"`
	Password     string         `json:"password"`
	TLS          bool           `json:"tls"`
	Thumbprint   string         `json:"thumbprint,omitempty"`
	CertPEMFile  string         `json:"certFile,omitempty"`
	InstanceUUID string         `json:"instanceUuid"`
	Counts       map[string]int `json:"counts"`
	PID          int            `json:"pid"`
}

func main() {
	dc := flag.Int("dc", 1, "datacenters")
	cluster := flag.Int("cluster", 1, "clusters per datacenter")
	clusterHost := flag.Int("cluster-host", 3, "hosts per cluster")
	host := flag.Int("host", 0, "standalone hosts per datacenter")
	pool := flag.Int("pool", 0, "child resource pools per cluster (VMs live in each cluster's root pool)")
	machine := flag.Int("vm", 2, "VMs per cluster root pool and per standalone host")
	folder := flag.Int("folder", 0, "datacenters placed inside a folder (with sub-folders for vm/host/network/datastore)")
	datastore := flag.Int("datastore", 1, "local datastores")
	app := flag.Int("app", 0, "vApps per cluster")
	portgroup := flag.Int("portgroup", 1, "distributed portgroups per datacenter")
	autostart := flag.Bool("autostart", true, "power on the VMs the model creates")
	useTLS := flag.Bool("tls", false, "serve HTTPS with a self-signed certificate")
	username := flag.String("username", "user", "login user name")
	password := flag.String("password", "pass", "login password")
	port := flag.Int("port", 0, "TCP port on 127.0.0.1 (0 = any free port)")
	capFlag := flag.Int("page-cap", 0, "largest page RetrievePropertiesEx returns, whatever maxObjects asks (0 = maxObjects only)")
	vapi := flag.Bool("vapi", true, "serve the vAPI REST endpoints (/rest: tagging); false makes the tagging service unreachable (404)")
	seed := flag.Bool("tags", true, "with -vapi, create tag categories and tags and attach them to the VMs (seedTags)")
	flag.Parse()
	pageCap = int32(*capFlag)

	model := simulator.VPX()
	model.Datacenter = *dc
	model.Cluster = *cluster
	model.ClusterHost = *clusterHost
	model.Host = *host
	model.Pool = *pool
	model.Machine = *machine
	model.Folder = *folder
	model.Datastore = *datastore
	model.App = *app
	model.Portgroup = *portgroup
	model.Autostart = *autostart

	if err := model.Create(); err != nil {
		fmt.Fprintln(os.Stderr, "vcsim: create model:", err)
		os.Exit(1)
	}
	defer model.Remove()

	// Swap in the paging collector under the same moref; sessions clone its type.
	pcRef := simulator.Map.Get(model.ServiceContent.PropertyCollector).Reference()
	pc := &pagingCollector{}
	pc.Self = pcRef
	simulator.Map.Put(pc)

	model.Service.RegisterEndpoints = *vapi
	model.Service.Listen = &url.URL{Host: "127.0.0.1:" + strconv.Itoa(*port), User: url.UserPassword(*username, *password)}
	if *useTLS {
		cert, err := selfSignedCert()
		if err != nil {
			fmt.Fprintln(os.Stderr, "vcsim: certificate:", err)
			os.Exit(1)
		}
		model.Service.TLS = &tls.Config{Certificates: []tls.Certificate{cert}}
	}
	server := model.Service.NewServer()
	defer server.Close()

	out := ready{
		Username:     *username,
		Password:     *password,
		TLS:          *useTLS,
		InstanceUUID: model.ServiceContent.About.InstanceUuid,
		PID:          os.Getpid(),
	}
	u := *server.URL
	out.URL = u.String()
	u.User = nil
	out.SDK = u.String()
	if *useTLS {
		sum := sha256.Sum256(server.Certificate().Raw)
		out.Thumbprint = hex.EncodeToString(sum[:])
		if f, err := server.CertificateFile(); err == nil {
			out.CertPEMFile = f
		}
	}
	attached := 0
	if *vapi && *seed {
		n, err := seedTags(context.Background(), server.URL)
		if err != nil {
			fmt.Fprintln(os.Stderr, "vcsim: seed tags:", err)
			os.Exit(1)
		}
		attached = n
	}
	c := model.Count()
	out.Counts = map[string]int{
		"datacenter": c.Datacenter, "cluster": c.Cluster, "host": c.Host, "pool": c.Pool,
		"vm": c.Machine, "folder": c.Folder, "datastore": c.Datastore, "app": c.App,
		"tagAttachments": attached,
	}
	line, _ := json.Marshal(out)
	fmt.Println(string(line))

	// Serve until the parent goes away (stdin EOF) or asks us to stop.
	done := make(chan struct{}, 2)
	go func() {
		_, _ = io.Copy(ioutil.Discard, os.Stdin)
		done <- struct{}{}
	}()
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGTERM, syscall.SIGINT)
	go func() {
		<-sig
		done <- struct{}{}
	}()
	<-done
}
