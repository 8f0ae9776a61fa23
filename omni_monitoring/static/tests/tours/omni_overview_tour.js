/** Omnichannel > Overview: the dashboard opens with a card per channel, and each figure of a card
 * opens the list of what it counts (today's orders, the queued events, the open exceptions), filtered
 * to that channel; the breadcrumb leads back. */
import { registry } from "@web/core/registry";
import { screenshot } from "@omni_connector_base/../tests/tours/omni_screenshot";

const CARD = ".o_kanban_record:contains('[DEMO] Omni Demo Store (web shop)')";

function backToOverview() {
    return [
        { content: "back to the Overview", trigger: ".o_breadcrumb a:contains('Overview')", run: "click" },
        { content: "the cards again", trigger: `.o_kanban_view ${CARD}`, timeout: 30000 },
    ];
}

registry.category("web_tour.tours").add("omni_overview", {
    steps: () => [
        {
            content: "a card per channel; the busy one is red with its reasons",
            trigger: `.o_kanban_view ${CARD}:has(.text-danger:contains('open exceptions'))`,
            timeout: 30000,
        },
        {
            content: "the other channel's card is not red: its one exception is within its threshold",
            trigger: ".o_kanban_record:contains('[DEMO] B2B Web Shop'):not(:has(.bg-danger-subtle)):not(.bg-danger-subtle)",
        },
        screenshot("01_overview", `.o_kanban_view ${CARD}`, "screenshot: the Overview"),
        {
            content: "today's orders of the channel",
            trigger: `${CARD} button[name=action_ov_orders_today]:contains('Orders today: 2')`,
            run: "click",
        },
        { content: "the list is the channel's orders today", trigger: ".o_breadcrumb:contains('orders today')", timeout: 30000 },
        {
            content: "exactly its two orders of today (not the older one, not the other channel's)",
            trigger: ".o_list_view:not(:has(.o_data_row:nth-child(3))) .o_data_row:nth-child(2):contains('[DEMO] Omni Demo Store (web shop)')",
        },
        ...backToOverview(),
        {
            content: "the queued events",
            trigger: `${CARD} button[name=action_ov_queue]:contains('Queued: 2')`,
            run: "click",
        },
        { content: "the events list", trigger: ".o_breadcrumb:contains('queued events')", timeout: 30000 },
        {
            content: "its two waiting events",
            trigger: ".o_list_view:not(:has(.o_data_row:nth-child(3))) .o_data_row:nth-child(2)",
        },
        ...backToOverview(),
        {
            content: "the open exceptions",
            trigger: `${CARD} button[name=action_ov_exceptions]:contains('Open exceptions: 1')`,
            run: "click",
        },
        { content: "the exceptions list", trigger: ".o_breadcrumb:contains('open exceptions')", timeout: 30000 },
        {
            content: "the channel's open exception, and only it",
            trigger: ".o_list_view:not(:has(.o_data_row:nth-child(2))) .o_data_row:contains('DEMO-BEANIE-RED')",
        },
        ...backToOverview(),
    ],
});
