/** The Proxmox VE fake: server plus the cluster model tests mutate. */
export { type ProxmoxFake, type RecordedRequest, startProxmoxFake } from './server.ts';
export {
  addTask,
  configDigest,
  createGuest,
  deleteSnapshot,
  destroyGuest,
  type FakeCluster,
  type FakeGuest,
  type FakeNode,
  type FakeSnapshot,
  type FakeTask,
  type FakeToken,
  findGuest,
  loadFixtureCluster,
  setNode,
  takeSnapshot,
  updateGuestConfig,
} from './model.ts';
