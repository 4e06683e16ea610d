// End-to-end test of the dark theme: with no choice made the page follows the system's
// prefers-color-scheme (and its changes); the switch in the settings overrides it,
// and the choice is remembered in localStorage across reloads.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  browserPerFile, uniqueName, until, registerViaApi, waitInRoom,
} from './helpers.mjs';

const chromium = browserPerFile();

const DARK_BG = 'rgb(21, 20, 31)';     // --bg of the dark theme behind the messages
const LIGHT_BG = 'rgb(244, 245, 251)'; // --bg of the light theme
const look = (page) => page.evaluate(() => ({
  pane: getComputedStyle(document.querySelector('.message-pane')).backgroundColor,
  text: getComputedStyle(document.body).color,
  scheme: getComputedStyle(document.documentElement).colorScheme,
  theme: document.documentElement.dataset.theme ?? null,
  stored: localStorage.getItem('chat-theme'),
  checked: document.getElementById('theme-toggle').getAttribute('aria-checked'),
}));

test('dark theme follows prefers-color-scheme; the switch overrides it and is remembered', async () => {
  const { context, page } = await chromium.open({ colorScheme: 'dark' });
  await registerViaApi(context, page, uniqueName('夜猫'));
  assert.deepEqual(await look(page), { pane: DARK_BG, text: 'rgb(233, 233, 246)', scheme: 'dark', theme: null, stored: null, checked: 'true' }, 'dark by the system');

  // the system turns light: the page follows while no choice was made
  await page.emulateMedia({ colorScheme: 'light' });
  const light = { pane: LIGHT_BG, text: 'rgb(31, 35, 64)', scheme: 'light', theme: null, stored: null, checked: 'false' };
  await until(async () => JSON.stringify(await look(page)) === JSON.stringify(light), async () => `light by the system: ${JSON.stringify(await look(page))}`, 2000);
  await page.emulateMedia({ colorScheme: 'dark' });
  await until(async () => (await look(page)).checked === 'true', 'the switch follows the system back', 2000);

  // the user switches to light in the settings: kept across a reload, whatever the system says
  await page.click('#settings-btn');
  const sw = page.getByRole('switch', { name: '深色主题' });
  await sw.click();
  assert.deepEqual(await look(page), { pane: LIGHT_BG, text: 'rgb(31, 35, 64)', scheme: 'light', theme: 'light', stored: 'light', checked: 'false' });
  await page.reload();
  await waitInRoom(page);
  assert.deepEqual(await look(page), { pane: LIGHT_BG, text: 'rgb(31, 35, 64)', scheme: 'light', theme: 'light', stored: 'light', checked: 'false' }, 'remembered');

  // and back to dark with the keyboard (Space on the focused switch)
  await page.click('#settings-btn');
  await sw.focus();
  await page.keyboard.press('Space');
  assert.deepEqual(await look(page), { pane: DARK_BG, text: 'rgb(233, 233, 246)', scheme: 'dark', theme: 'dark', stored: 'dark', checked: 'true' });
  await page.emulateMedia({ colorScheme: 'light' });
  assert.equal((await look(page)).pane, DARK_BG, 'a chosen theme does not follow the system');
  // the login screen is dark too
  await page.click('#logout-btn');
  await page.locator('#login-form').waitFor({ state: 'visible' });
  const card = await page.$eval('.auth-card', (e) => getComputedStyle(e).backgroundColor);
  assert.equal(card, 'rgba(28, 27, 42, 0.97)');
  assert.deepEqual(page.errors, []);
});
