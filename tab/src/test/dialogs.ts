/** Finding Fluent dialogs in jsdom. */
import { screen } from "@testing-library/react";

// Tabster's modalizer sometimes leaves aria-hidden on the dialog's own portal in jsdom (it
// measures layout jsdom does not have), so role queries must include hidden elements here.
// Real browsers are checked by the end-to-end tests with axe.
export const findDialog = () => screen.findByRole("alertdialog", { hidden: true });
export const queryDialog = () => screen.queryByRole("alertdialog", { hidden: true });
