/** `npm run bench` entry for the vCenter collector vs govmomi's Go capture (see vcenter_capture.ts). */
import { benchVcenterCapture } from './vcenter_capture.ts';

export default () => benchVcenterCapture({ vms: 10_000 });
