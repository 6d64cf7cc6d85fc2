// govmomi-capture: the reference vCenter inventory capture, written with govmomi (VMware's
// own Go SDK), as the peer the agent's collector is timed against in the same run
// (bench/vcenter_capture.ts). It does what a careful Go collector does: one ContainerView
// over all VirtualMachines and one property retrieval decoded into mo.VirtualMachine, and,
// with -inventory, one ContainerView over the inventory types with a property spec per type
// (as the agent's inventory.ts), decoded into typed ObjectContent.
//
// -paths and -inventory are fed from the agent's own specs (agent/collectors/vcenter/vms.ts
// VM_PATHS, inventory.ts INVENTORY_TYPES and INVENTORY_SPECS), so both sides fetch the same
// property paths and stay in sync when either changes. Without them it falls back to the v1
// property list below.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"net/url"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/vmware/govmomi"
	"github.com/vmware/govmomi/property"
	"github.com/vmware/govmomi/view"
	"github.com/vmware/govmomi/vim25/mo"
	"github.com/vmware/govmomi/vim25/types"
)

var v1Props = []string{
	"name", "config.uuid", "config.instanceUuid", "config.hardware.numCPU",
	"config.hardware.memoryMB", "config.createDate", "config.template",
	"config.guestFullName", "runtime.powerState", "runtime.host",
	"resourcePool", "summary.storage", "guest.ipAddress", "datastore", "parent",
}

// inventory is what -inventory holds: the view's types and one property spec per type.
type inventory struct {
	Types []string `json:"types"`
	Specs []struct {
		Type  string   `json:"type"`
		Paths []string `json:"paths"`
	} `json:"specs"`
}

func retrieveInventory(ctx context.Context, c *govmomi.Client, inv inventory) (int, error) {
	v, err := view.NewManager(c.Client).CreateContainerView(ctx, c.ServiceContent.RootFolder, inv.Types, true)
	if err != nil {
		return 0, err
	}
	defer func() { _ = v.Destroy(ctx) }()
	var pspec []types.PropertySpec
	for _, s := range inv.Specs {
		pspec = append(pspec, types.PropertySpec{Type: s.Type, PathSet: s.Paths})
	}
	req := types.RetrieveProperties{SpecSet: []types.PropertyFilterSpec{{
		ObjectSet: []types.ObjectSpec{{
			Obj:       v.Reference(),
			Skip:      types.NewBool(true),
			SelectSet: []types.BaseSelectionSpec{&types.TraversalSpec{Type: "ContainerView", Path: "view"}},
		}},
		PropSet: pspec,
	}}}
	res, err := property.DefaultCollector(c.Client).RetrieveProperties(ctx, req)
	if err != nil {
		return 0, err
	}
	return len(res.Returnval), nil
}

func main() {
	u := flag.String("u", "http://user:pass@127.0.0.1:8989/sdk", "vCenter SDK URL with credentials")
	runs := flag.Int("n", 1, "captures to run, one after another")
	paths := flag.String("paths", "", "comma-separated VirtualMachine property paths (default: the v1 list)")
	invFlag := flag.String("inventory", "", `JSON {"types":[…],"specs":[{"type":…,"paths":[…]}]}: also retrieve the inventory, concurrently`)
	flag.Parse()
	props := v1Props
	if *paths != "" {
		props = strings.Split(*paths, ",")
	}
	var inv *inventory
	if *invFlag != "" {
		inv = &inventory{}
		if err := json.Unmarshal([]byte(*invFlag), inv); err != nil {
			fmt.Fprintln(os.Stderr, "-inventory:", err)
			os.Exit(2)
		}
	}
	ctx := context.Background()
	pu, err := url.Parse(*u)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	fail := func(err error) {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	for i := 0; i < *runs; i++ {
		t0 := time.Now()
		c, err := govmomi.NewClient(ctx, pu, true)
		if err != nil {
			fail(err)
		}
		// The inventory beside the VMs, as the agent does, on the same session.
		var wg sync.WaitGroup
		var invObjects int
		var invErr error
		if inv != nil {
			wg.Add(1)
			go func() {
				defer wg.Done()
				invObjects, invErr = retrieveInventory(ctx, c, *inv)
			}()
		}
		v, err := view.NewManager(c.Client).CreateContainerView(ctx, c.ServiceContent.RootFolder, []string{"VirtualMachine"}, true)
		if err != nil {
			fail(err)
		}
		var vms []mo.VirtualMachine
		if err := v.Retrieve(ctx, []string{"VirtualMachine"}, props, &vms); err != nil {
			fail(err)
		}
		_ = v.Destroy(ctx)
		wg.Wait()
		if invErr != nil {
			fail(invErr)
		}
		_ = c.Logout(ctx)
		fmt.Printf("vms=%d inventory=%d paths=%d elapsed_ms=%d\n", len(vms), invObjects, len(props), time.Since(t0).Milliseconds())
	}
}
