/** The Proxmox VE fake: server plus the cluster model tests mutate. */
export { startProxmoxFake, type ProxmoxFake, type RecordedRequest } from './server.ts';
export {
  addTask,
  configDigest,
  createGuest,
  destroyGuest,
  findGuest,
  loadFixtureCluster,
  setNode,
  updateGuestConfig,
  type FakeCluster,
  type FakeGuest,
  type FakeNode,
  type FakeTask,
  type FakeToken,
} from './model.ts';
