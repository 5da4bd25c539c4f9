/**
 * vitest globalSetup (runs in Node, not in workerd): the local S3 and Google endpoints of
 * ./cloud-servers.mjs, their URLs and test credentials provided to the tests as `inject('cloud')`.
 */
import { startCloudServers } from './cloud-servers.mjs';

export default async function setup(project) {
  const { config, close } = await startCloudServers();
  project.provide('cloud', config);
  return close;
}
