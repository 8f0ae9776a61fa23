/** A tour step that takes a screenshot of the page (headless Chromium, the test's 1280x800 window).
 *
 * The step logs ``omni-screenshot:<name>`` and waits until the test answers (it sets
 * ``document.body.dataset.omniShot`` to the name once the PNG is written, or at once when
 * screenshots are off): the tour never moves on before the shot is taken. The tour test must use
 * ``OmniTourScreenshots`` (omni_connector_base/tests/tour_screenshots.py); shots are written only
 * when ``OMNI_SCREENSHOTS`` is set (a folder, or 1 for docs/screenshots/). */

const ANSWER_TIMEOUT = 30000;

export function screenshot(name, trigger, content = `screenshot ${name}`) {
    return {
        content,
        trigger,
        async run() {
            // what a person sees: no focus ring or tooltip left by the previous step's click
            document.activeElement?.blur?.();
            await new Promise((resolve) => setTimeout(resolve, 500)); // fonts, images, chatter
            // no "Loading" badge in the picture: wait for the page's requests to end (at most 10 s)
            const quiet = Date.now() + 10000;
            while (document.querySelector(".o_loading_indicator") && Date.now() < quiet) {
                await new Promise((resolve) => setTimeout(resolve, 100));
            }
            delete document.body.dataset.omniShot;
            console.log(`omni-screenshot:${name}`);
            const end = Date.now() + ANSWER_TIMEOUT;
            while (document.body.dataset.omniShot !== name) {
                if (Date.now() > end) {
                    throw new Error(`screenshot ${name}: the test did not answer (use OmniTourScreenshots)`);
                }
                await new Promise((resolve) => setTimeout(resolve, 50));
            }
        },
    };
}
