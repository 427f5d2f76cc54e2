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
  // The victim reconnects as soon as the thief takes its connection over, and the server then moves the
  // session back to the victim: a close sent by the thief after that is lost with its dropped connection.
  // So attach-and-close until a fresh attach is told the session has expired.
  for (let attempt = 0; attempt < 10; attempt++) {
    const outcome = await attachAndClose(connectString, options);
    if (outcome === 'expired') return;
  }
  throw new Error('could not expire the session after 10 attempts');
}

/** Attach to the session: 'expired' if the server says it is gone; otherwise close it and report 'closed'. */
async function attachAndClose(connectString: string, options: object): Promise<'expired' | 'closed'> {
  const thief = zookeeper.createClient(connectString, options);
  const outcome = await new Promise<'expired' | 'connected'>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('could not attach to the session')), 10_000);
    thief.on('state', (state: zookeeper.State) => {
      if (state === zookeeper.State.EXPIRED) {
        clearTimeout(timer);
        resolve('expired');
      } else if (state === zookeeper.State.SYNC_CONNECTED) {
        clearTimeout(timer);
        resolve('connected');
      }
    });
    thief.connect();
  });
  await new Promise<void>((resolve) => {
    if (outcome === 'expired') {
      thief.close();
      resolve();
      return;
    }
    thief.once('disconnected', () => resolve());
    thief.close();
  });
  return outcome === 'expired' ? 'expired' : 'closed';
}
