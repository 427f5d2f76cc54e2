import zookeeper from 'node-zookeeper-client';

/**
 * Expires a session on purpose. A client attaches to the victim's session with its id and password and closes
 * it: the server ends the session (its ephemeral znodes go at once) and the victim, on its next reconnect, is told
 * SESSION_EXPIRED. Reattaching also makes the server drop the victim's connection, so that reconnect comes right
 * away. (Waiting out a session timeout behind a blocked connection works too; see leader-election.test.ts.)
 */
export async function expireSession(connectString: string, victim: zookeeper.Client): Promise<void> {
  // node-zookeeper-client takes sessionId/sessionPassword options (to reattach), though its typings omit them.
  const options = { sessionTimeout: victim.getSessionTimeout(), retries: 0, sessionId: victim.getSessionId(), sessionPassword: victim.getSessionPassword() };
  const thief = zookeeper.createClient(connectString, options);
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('could not attach to the session')), 10_000);
    thief.once('connected', () => {
      clearTimeout(timer);
      resolve();
    });
    thief.connect();
  });
  await new Promise<void>((resolve) => {
    thief.once('disconnected', () => resolve());
    thief.close();
  });
}
