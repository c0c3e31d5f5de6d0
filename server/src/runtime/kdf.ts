/** The passphrase KDF lives in shared/ (the extension unseals key files too); re-exported for the server. */
export { deriveKey } from '../../../shared/src/kdf.js';
